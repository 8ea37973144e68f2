package tiltfile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// Resource is one Tilt resource as `tilt up` would show it.
type Resource struct {
	Name string
	// Type: "k8s" (a workload and what Tilt grouped with it), "group" (a
	// k8s_resource(new_name=..., objects=...) of non-workload objects),
	// "local" (local_resource, helm_repo), "custom" (helm_resource).
	Type         string
	Workload     *Doc
	Objects      []*Doc
	Deps         []string
	PortForwards []Object
	Links        []Object
	Labels       []string
	AutoInit     bool
	Manual       bool
	Call         *Call
}

// Model is Tilt's resource model of a Result.
type Model struct {
	Resources map[string]*Resource
	// Unresourced objects would land in Tilt's "uncategorized" resource.
	Unresourced []*Doc
	// Errors are what would make Tilt refuse the Tiltfile.
	Errors []string
}

// Names returns the resource names, sorted.
func (m *Model) Names() []string {
	out := make([]string, 0, len(m.Resources))
	for n := range m.Resources {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// PodSpec returns the object's pod template spec and labels (nil when it has none).
func PodSpec(o map[string]any) (spec map[string]any, labels map[string]any) {
	switch str(o["kind"]) {
	case "Pod":
		spec, _ = o["spec"].(map[string]any)
		labels, _ = meta(o)["labels"].(map[string]any)
		return spec, labels
	case "CronJob":
		s, _ := o["spec"].(map[string]any)
		jt, _ := s["jobTemplate"].(map[string]any)
		js, _ := jt["spec"].(map[string]any)
		return templateOf(js)
	}
	s, _ := o["spec"].(map[string]any)
	return templateOf(s)
}

func templateOf(s map[string]any) (map[string]any, map[string]any) {
	t, _ := s["template"].(map[string]any)
	if t == nil {
		return nil, nil
	}
	spec, _ := t["spec"].(map[string]any)
	m, _ := t["metadata"].(map[string]any)
	labels, _ := m["labels"].(map[string]any)
	return spec, labels
}

// Containers returns the pod spec's init and regular containers.
func Containers(spec map[string]any) []map[string]any {
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := spec[key].([]any)
		for _, c := range list {
			if cm, ok := c.(map[string]any); ok {
				out = append(out, cm)
			}
		}
	}
	return out
}

func isWorkload(d *Doc) bool {
	spec, _ := PodSpec(d.Object)
	for _, c := range Containers(spec) {
		if str(c["image"]) != "" {
			return true
		}
	}
	return false
}

func group(apiVersion string) string {
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return "core"
}

// potentialNames are the fragments that name an object, shortest first:
// name, name:kind, name:kind:namespace, name:kind:namespace:group.
func potentialNames(d *Doc) []string {
	parts := []string{d.Name(), d.Kind(), d.Namespace(), group(d.APIVersion())}
	var out []string
	for i := 1; i <= len(parts); i++ {
		out = append(out, strings.ToLower(strings.Join(parts[:i], ":")))
	}
	return out
}

// uniqueNames names each workload by its shortest fragment no other workload shares.
func uniqueNames(ws []*Doc) []string {
	counts := map[string]int{}
	for _, w := range ws {
		for _, n := range potentialNames(w) {
			counts[n]++
		}
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		names := potentialNames(w)
		for _, n := range names {
			if counts[n] == 1 {
				out[i] = n
				break
			}
		}
		if out[i] == "" {
			out[i] = fmt.Sprintf("%s:%d", names[len(names)-1], i)
		}
	}
	return out
}

// selects reports whether a Service in the workload's namespace selects its pods.
func selects(svc *Doc, w *Doc) bool {
	if svc.Kind() != "Service" || svc.Namespace() != w.Namespace() {
		return false
	}
	spec, _ := svc.Object["spec"].(map[string]any)
	sel, _ := spec["selector"].(map[string]any)
	if len(sel) == 0 {
		return false
	}
	_, labels := PodSpec(w.Object)
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Assemble builds Tilt's resource model from what the Tiltfile declared.
func Assemble(r *Result) *Model {
	m := &Model{Resources: map[string]*Resource{}}
	errf := func(format string, args ...any) { m.Errors = append(m.Errors, fmt.Sprintf(format, args...)) }

	seen := map[string]string{}
	var docs []*Doc
	for i := range r.Docs {
		d := &r.Docs[i]
		key := strings.Join(potentialNames(d)[3:], "")
		if prev, dup := seen[key]; dup {
			errf("duplicate YAML entity %s (from %s and %s)", key, prev, d.Source)
			continue
		}
		seen[key] = d.Source
		docs = append(docs, d)
	}

	var workloads, rest []*Doc
	for _, d := range docs {
		if isWorkload(d) {
			workloads = append(workloads, d)
		} else {
			rest = append(rest, d)
		}
	}
	add := func(res *Resource) {
		if _, dup := m.Resources[res.Name]; dup {
			errf("two resources are named %q", res.Name)
			return
		}
		m.Resources[res.Name] = res
	}
	for i, name := range uniqueNames(workloads) {
		w := workloads[i]
		res := &Resource{Name: name, Type: "k8s", Workload: w, Objects: []*Doc{w}, AutoInit: true}
		var left []*Doc
		for _, d := range rest {
			if selects(d, w) {
				res.Objects = append(res.Objects, d)
			} else {
				left = append(left, d)
			}
		}
		rest = left
		add(res)
	}
	unresourced := rest

	for i := range r.Calls {
		c := &r.Calls[i]
		switch c.Fn {
		case "local_resource":
			add(&Resource{Name: Str(c.Args["name"]), Type: "local", Call: c, Deps: Strs(c.Args["resource_deps"]),
				Links: objects(c.Args["links"]), Labels: Strs(c.Args["labels"]), AutoInit: autoInit(c.Args),
				Manual: Str(c.Args["trigger_mode"]) == "TRIGGER_MODE_MANUAL"})
		case "helm_repo":
			name := Str(c.Args["resource_name"])
			if name == "" {
				name = Str(c.Args["name"])
			}
			add(&Resource{Name: name, Type: "local", Call: c, Deps: Strs(c.Args["resource_deps"]),
				Labels: Strs(c.Args["labels"]), AutoInit: autoInit(c.Args)})
		case "helm_resource":
			add(&Resource{Name: Str(c.Args["name"]), Type: "custom", Call: c, Deps: Strs(c.Args["resource_deps"]),
				Labels: Strs(c.Args["labels"]), PortForwards: objects(c.Args["port_forwards"]),
				Links: objects(c.Args["links"]), AutoInit: autoInit(c.Args)})
		case "k8s_custom_deploy":
			add(&Resource{Name: Str(c.Args["name"]), Type: "custom", Call: c, AutoInit: true})
		}
	}

	// All objects by fragment, for objects= (Tilt looks fragments up among all
	// objects, then takes the one found from the unresourced ones).
	fragments := map[string][]*Doc{}
	for _, d := range docs {
		for _, n := range potentialNames(d) {
			fragments[n] = append(fragments[n], d)
		}
	}
	for _, c := range r.ByFn("k8s_resource") {
		workload, newName := Str(c.Args["workload"]), Str(c.Args["new_name"])
		if workload == "" && newName == "" {
			errf("%s: k8s_resource needs a workload or a new_name", c.Pos)
			continue
		}
		if workload == "" {
			add(&Resource{Name: newName, Type: "group", AutoInit: true})
			workload = newName
		}
		res, ok := m.Resources[workload]
		if !ok || (res.Type != "k8s" && res.Type != "group" && res.Type != "custom") {
			errf("%s: k8s_resource specified unknown resource %q (known k8s resources: %s)", c.Pos, workload,
				strings.Join(m.k8sNames(), ", "))
			continue
		}
		res.Deps = append(res.Deps, Strs(c.Args["resource_deps"])...)
		res.PortForwards = append(res.PortForwards, objects(c.Args["port_forwards"])...)
		res.Links = append(res.Links, objects(c.Args["links"])...)
		res.Labels = append(res.Labels, Strs(c.Args["labels"])...)
		if v, ok := c.Args["auto_init"]; ok {
			res.AutoInit = Bool(v)
		}
		if v, ok := c.Args["trigger_mode"]; ok {
			res.Manual = Str(v) == "TRIGGER_MODE_MANUAL"
		}
		if newName != "" && newName != res.Name {
			if _, taken := m.Resources[newName]; taken {
				errf("%s: k8s_resource renames %q to %q, which exists", c.Pos, res.Name, newName)
			} else {
				delete(m.Resources, res.Name)
				res.Name = newName
				m.Resources[newName] = res
			}
		}
		for _, frag := range Strs(c.Args["objects"]) {
			found := fragments[strings.ToLower(frag)]
			switch {
			case len(found) == 0:
				errf("%s: no object identified by the fragment %q could be found", c.Pos, frag)
				continue
			case len(found) > 1:
				errf("%s: %q is not a unique fragment (%d objects match)", c.Pos, frag, len(found))
				continue
			}
			idx := -1
			for i, d := range unresourced {
				if d == found[0] {
					idx = i
				}
			}
			if idx < 0 {
				errf("%s: the object %q already belongs to another resource", c.Pos, frag)
				continue
			}
			res.Objects = append(res.Objects, found[0])
			unresourced = append(unresourced[:idx], unresourced[idx+1:]...)
		}
	}
	for _, res := range m.Resources {
		if res.Type == "group" && len(res.Objects) == 0 {
			errf("resource %q: could not associate any k8s_yaml() with this resource", res.Name)
		}
	}
	m.Unresourced = unresourced
	return m
}

func (m *Model) k8sNames() []string {
	var out []string
	for _, n := range m.Names() {
		if t := m.Resources[n].Type; t == "k8s" || t == "group" || t == "custom" {
			out = append(out, n)
		}
	}
	return out
}

func autoInit(a map[string]starlark.Value) bool {
	v, ok := a["auto_init"]
	return !ok || Bool(v)
}

// objects normalises port_forwards and links: Tilt also takes 8080,
// "8080:80" and plain URL strings there.
func objects(v starlark.Value) []Object {
	var out []Object
	for _, x := range List(v) {
		switch o := x.(type) {
		case Object:
			out = append(out, o)
		case starlark.Int:
			out = append(out, Object{Kind: "port_forward", Args: map[string]starlark.Value{"local_port": o}})
		case starlark.String:
			local, remote, isPort := strings.Cut(string(o), ":")
			if lp, err := strconv.Atoi(local); err == nil && !strings.Contains(string(o), "/") {
				args := map[string]starlark.Value{"local_port": starlark.MakeInt(lp)}
				if rp, err := strconv.Atoi(remote); isPort && err == nil {
					args["container_port"] = starlark.MakeInt(rp)
				}
				out = append(out, Object{Kind: "port_forward", Args: args})
				continue
			}
			out = append(out, Object{Kind: "link", Args: map[string]starlark.Value{"url": o}})
		}
	}
	return out
}
