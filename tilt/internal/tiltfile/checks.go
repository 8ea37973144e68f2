package tiltfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// Each check returns the problems it found, one sentence each; none = pass.

// CheckResourceDeps: every resource_deps entry names a defined resource, and
// the dependencies have no cycle (Tilt refuses both).
func CheckResourceDeps(m *Model) []string {
	var out []string
	for _, n := range m.Names() {
		for _, d := range m.Resources[n].Deps {
			if _, ok := m.Resources[d]; !ok {
				out = append(out, fmt.Sprintf("resource %q depends on %q, which is not a resource", n, d))
			}
		}
	}
	state := map[string]int{}
	var visit func(n string, path []string)
	visit = func(n string, path []string) {
		switch state[n] {
		case 1:
			out = append(out, fmt.Sprintf("dependency cycle: %s -> %s", strings.Join(path, " -> "), n))
			return
		case 2:
			return
		}
		state[n] = 1
		if r, ok := m.Resources[n]; ok {
			for _, d := range r.Deps {
				visit(d, append(path, n))
			}
		}
		state[n] = 2
	}
	for _, n := range m.Names() {
		visit(n, nil)
	}
	return out
}

// CheckAllObjectsResourced: no object is left to Tilt's "uncategorized"
// resource, which nothing waits for and which waits for nothing.
func CheckAllObjectsResourced(m *Model) []string {
	var out []string
	for _, d := range m.Unresourced {
		out = append(out, fmt.Sprintf("%s/%s (%s) belongs to no resource: Tilt would put it in \"uncategorized\"", d.Kind(), d.Name(), d.Source))
	}
	return out
}

// CheckLabels: every resource has a label (the Tilt UI groups by them).
func CheckLabels(m *Model) []string {
	var out []string
	for _, n := range m.Names() {
		if len(m.Resources[n].Labels) == 0 {
			out = append(out, fmt.Sprintf("resource %q has no label", n))
		}
	}
	return out
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func resolve(c Call, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// command returns the program of a cmd argument (list: its first element;
// string: its first word).
func command(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		f := strings.Fields(string(s))
		if len(f) == 0 {
			return ""
		}
		return f[0]
	}
	if l := Strs(v); len(l) > 0 {
		return l[0]
	}
	return ""
}

// CheckPaths: every file and folder the Tiltfile names exists: local
// resources' deps and scripts, helm_resource values and deps, watched files,
// and docker_build contexts, except a context under a generated folder
// (generatedPrefix, e.g. ".dev/") that a local_resource fills before any
// resource using its image starts.
func CheckPaths(root string, r *Result, m *Model, generatedPrefix string) []string {
	var out []string
	missing := func(c Call, what, p string) {
		out = append(out, fmt.Sprintf("%s: %s %q does not exist", c.Pos, what, rel(root, resolve(c, p))))
	}
	for _, c := range r.Calls {
		switch c.Fn {
		case "local_resource":
			for _, d := range Strs(c.Args["deps"]) {
				if !exists(resolve(c, d)) {
					missing(c, "local_resource dep", d)
				}
			}
			for _, key := range []string{"cmd", "serve_cmd"} {
				prog := command(c.Args[key])
				if !strings.Contains(prog, "/") {
					continue // a program on PATH
				}
				fi, err := os.Stat(resolve(c, prog))
				if err != nil {
					missing(c, key+" program", prog)
				} else if fi.Mode()&0o111 == 0 {
					out = append(out, fmt.Sprintf("%s: %s program %q is not executable", c.Pos, key, prog))
				}
			}
		case "helm_resource":
			flags := Strs(c.Args["flags"])
			for i, f := range flags {
				if (f == "--values" || f == "-f") && i+1 < len(flags) && !exists(resolve(c, flags[i+1])) {
					missing(c, "helm_resource values file", flags[i+1])
				}
			}
			for _, d := range Strs(c.Args["deps"]) {
				if !exists(resolve(c, d)) {
					missing(c, "helm_resource dep", d)
				}
			}
		case "watch_file":
			if p := Str(c.Args["file_path"]); !exists(resolve(c, p)) {
				missing(c, "watched file", p)
			}
		case "docker_build":
			ctx := Str(c.Args["context"])
			if exists(resolve(c, ctx)) {
				continue
			}
			if generatedPrefix == "" || !strings.HasPrefix(rel(root, resolve(c, ctx))+"/", generatedPrefix) {
				missing(c, "docker_build context", ctx)
				continue
			}
			ref := Str(c.Args["ref"])
			for _, res := range resourcesUsingImage(m, ref) {
				if !dependsOnLocal(m, res) {
					out = append(out, fmt.Sprintf("%s: the context of %s (%s) is generated, but resource %q deploys the image without waiting for a local_resource", c.Pos, ref, ctx, res.Name))
				}
			}
		}
	}
	return out
}

func dependsOnLocal(m *Model, r *Resource) bool {
	for _, d := range r.Deps {
		if dep, ok := m.Resources[d]; ok && dep.Type == "local" {
			return true
		}
	}
	return false
}

// ImageRepo returns an image reference without tag or digest, with Docker
// Hub's implicit prefixes removed ("docker.io/library/redis:7" -> "redis").
func ImageRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "library/")
	return ref
}

func resourcesUsingImage(m *Model, ref string) []*Resource {
	var out []*Resource
	for _, n := range m.Names() {
		res := m.Resources[n]
		if res.Workload == nil {
			continue
		}
		spec, _ := PodSpec(res.Workload.Object)
		for _, c := range Containers(spec) {
			if ImageRepo(str(c["image"])) == ImageRepo(ref) {
				out = append(out, res)
				break
			}
		}
	}
	return out
}

func builtImages(r *Result) map[string]Call {
	out := map[string]Call{}
	for _, c := range r.Calls {
		if c.Fn == "docker_build" || c.Fn == "custom_build" {
			out[ImageRepo(Str(c.Args["ref"]))] = c
		}
	}
	return out
}

// CheckImages: every image the Tiltfile builds runs in some workload, and
// every workload's image is either built here or pinned to a version (a tag
// other than "latest", or a digest).
func CheckImages(r *Result, m *Model) []string {
	var out []string
	built := builtImages(r)
	for repo, c := range built {
		if len(resourcesUsingImage(m, repo)) == 0 {
			out = append(out, fmt.Sprintf("%s: image %s is built but no workload runs it", c.Pos, Str(c.Args["ref"])))
		}
	}
	for _, n := range m.Names() {
		res := m.Resources[n]
		if res.Workload == nil {
			continue
		}
		spec, _ := PodSpec(res.Workload.Object)
		for _, c := range Containers(spec) {
			img := str(c["image"])
			if _, ok := built[ImageRepo(img)]; ok {
				continue
			}
			tag := ""
			if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
				tag = img[i+1:]
			}
			if !strings.Contains(img, "@sha256:") && (tag == "" || tag == "latest") {
				out = append(out, fmt.Sprintf("resource %q runs %s: neither built by the Tiltfile nor pinned to a version", n, img))
			}
		}
	}
	sort.Strings(out)
	return out
}

// CheckLiveUpdate: for every image with live update steps, each sync copies
// from inside the image's build context into a writable volume of every
// long-running container that runs the image, those containers keep the
// image's entrypoint (no `command`), and no step needs what a containerd
// node or a distroless image lacks (restart_container(), run()).
func CheckLiveUpdate(root string, r *Result, m *Model) []string {
	var out []string
	for _, c := range r.ByFn("docker_build") {
		ref := Str(c.Args["ref"])
		ctx := resolve(c, Str(c.Args["context"]))
		var syncs []Object
		for _, step := range List(c.Args["live_update"]) {
			o, ok := step.(Object)
			if !ok {
				continue
			}
			switch o.Kind {
			case "sync":
				syncs = append(syncs, o)
				local := resolve(c, Str(o.Args["local_path"]))
				if local != ctx && !strings.HasPrefix(local, ctx+string(os.PathSeparator)) {
					out = append(out, fmt.Sprintf("%s: %s: sync source %s is outside the build context %s", c.Pos, ref, rel(root, local), rel(root, ctx)))
				}
			case "restart_container":
				out = append(out, fmt.Sprintf("%s: %s: restart_container() does not work on kind (containerd)", c.Pos, ref))
			case "run":
				out = append(out, fmt.Sprintf("%s: %s: run() needs a shell or tools the distroless image lacks", c.Pos, ref))
			}
		}
		if len(syncs) == 0 {
			continue
		}
		for _, res := range resourcesUsingImage(m, ref) {
			if k := res.Workload.Kind(); k == "Job" || k == "CronJob" || k == "Pod" {
				continue // runs to completion: never live-updated
			}
			spec, _ := PodSpec(res.Workload.Object)
			emptyDirs := map[string]bool{}
			vols, _ := spec["volumes"].([]any)
			for _, v := range vols {
				vm, _ := v.(map[string]any)
				if _, ok := vm["emptyDir"]; ok {
					emptyDirs[str(vm["name"])] = true
				}
			}
			for _, ctr := range Containers(spec) {
				if ImageRepo(str(ctr["image"])) != ImageRepo(ref) {
					continue
				}
				if cmd, ok := ctr["command"]; ok && cmd != nil {
					out = append(out, fmt.Sprintf("resource %q container %s sets command: the dev image's entrypoint (devrunner) would not run", res.Name, str(ctr["name"])))
				}
				mounts, _ := ctr["volumeMounts"].([]any)
				for _, s := range syncs {
					remote := Str(s.Args["remote_path"])
					ok := false
					for _, mt := range mounts {
						mm, _ := mt.(map[string]any)
						mp := strings.TrimSuffix(str(mm["mountPath"]), "/")
						if emptyDirs[str(mm["name"])] && mm["readOnly"] != true && (remote == mp || strings.HasPrefix(remote, mp+"/")) {
							ok = true
						}
					}
					if !ok {
						out = append(out, fmt.Sprintf("resource %q container %s: live update writes %s, which is not on a writable emptyDir mount", res.Name, str(ctr["name"]), remote))
					}
				}
			}
		}
	}
	return out
}

// CheckPortForwards: no two forwards take the same local port, and each
// k8s forward reaches a port a container of its workload declares.
func CheckPortForwards(r *Result, m *Model) []string {
	var out []string
	taken := map[int]string{}
	claim := func(port int, who string) {
		if prev, dup := taken[port]; dup {
			out = append(out, fmt.Sprintf("local port %d is forwarded twice (%s and %s)", port, prev, who))
		}
		taken[port] = who
	}
	for _, n := range m.Names() {
		res := m.Resources[n]
		for _, pf := range res.PortForwards {
			local := Int(pf.Args["local_port"])
			remote := local
			if cp := Int(pf.Args["container_port"]); cp != 0 {
				remote = cp
			}
			claim(local, n)
			if res.Workload == nil {
				continue
			}
			spec, _ := PodSpec(res.Workload.Object)
			found := false
			for _, c := range Containers(spec) {
				ports, _ := c["ports"].([]any)
				for _, p := range ports {
					pm, _ := p.(map[string]any)
					if n, ok := pm["containerPort"].(float64); ok && int(n) == remote {
						found = true
					}
				}
			}
			if !found {
				out = append(out, fmt.Sprintf("resource %q forwards to port %d, which no container of %s declares", n, remote, res.Workload.Name()))
			}
		}
		if res.Type == "local" && res.Call != nil {
			if p, ok := res.Call.Args["readiness_probe"].(Object); ok {
				if hg, ok := p.Args["http_get"].(Object); ok {
					claim(Int(hg.Args["port"]), n)
				}
			}
		}
	}
	return out
}

// LocalPorts returns every local port the Tiltfile serves on: k8s port
// forwards and the ports local forwarders are probed on.
func LocalPorts(m *Model) map[int]string {
	out := map[int]string{}
	for _, n := range m.Names() {
		res := m.Resources[n]
		for _, pf := range res.PortForwards {
			out[Int(pf.Args["local_port"])] = n
		}
		if res.Type == "local" && res.Call != nil {
			if p, ok := res.Call.Args["readiness_probe"].(Object); ok {
				if hg, ok := p.Args["http_get"].(Object); ok {
					out[Int(hg.Args["port"])] = n
				}
			}
		}
	}
	return out
}

// Links returns every link URL of every resource.
func Links(m *Model) map[string]string {
	out := map[string]string{}
	for _, n := range m.Names() {
		for _, l := range m.Resources[n].Links {
			out[Str(l.Args["url"])] = n
		}
	}
	return out
}
