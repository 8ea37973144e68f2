package tiltfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Options of one evaluation.
type Options struct {
	// Root is the folder of the Tiltfile (the repository root).
	Root string
	// Args are the Tiltfile's own arguments (`tilt up -- ARGS`).
	Args []string
	// Helm is the helm binary that renders helm() calls.
	Helm string
	// Context is what k8s_context() answers.
	Context string
	// Env is what os.getenv/os.environ see (not the test's environment).
	Env map[string]string
}

// Call is one recorded builtin call.
type Call struct {
	Fn   string
	Args map[string]starlark.Value
	// Dir is the folder relative paths of this call resolve against (the
	// folder of the file executing when it was made, as in Tilt).
	Dir string
	Pos string
}

// Doc is one Kubernetes object handed to k8s_yaml.
type Doc struct {
	Object map[string]any
	Raw    []byte
	Source string
}

// Kind, Name and Namespace of the object.
func (d Doc) Kind() string       { return str(d.Object["kind"]) }
func (d Doc) APIVersion() string { return str(d.Object["apiVersion"]) }
func (d Doc) Name() string       { return str(meta(d.Object)["name"]) }
func (d Doc) Namespace() string  { return str(meta(d.Object)["namespace"]) }

func meta(o map[string]any) map[string]any {
	m, _ := o["metadata"].(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Render is one helm() call and what it produced.
type Render struct {
	Chart, Release, Namespace string
	Values, Set               []string
	Argv                      []string
}

// Result is everything the Tiltfile declared.
type Result struct {
	Calls   []Call
	Docs    []Doc
	Renders []Render
	// Flags is what config.parse() returned.
	Flags map[string]any
	// Loaded lists the files executed (the Tiltfile and its loads).
	Loaded []string
}

// ByFn returns the recorded calls of one builtin.
func (r *Result) ByFn(fn string) []Call {
	var out []Call
	for _, c := range r.Calls {
		if c.Fn == fn {
			out = append(out, c)
		}
	}
	return out
}

type evaluator struct {
	opts     Options
	res      *Result
	loads    map[string]starlark.StringDict
	loading  map[string]bool
	config   *configState
	universe starlark.StringDict
}

type configState struct {
	defs   map[string]string // name -> bool | string | string_list
	argsOf string            // the setting that takes positional args
	parsed bool
}

const execPathKey = "tiltfile.execPath"

// Evaluate executes the Tiltfile in opts.Root and returns what it declared.
func Evaluate(opts Options) (*Result, error) {
	if opts.Context == "" {
		opts.Context = "kind-shop"
	}
	e := &evaluator{opts: opts, res: &Result{}, loads: map[string]starlark.StringDict{}, loading: map[string]bool{},
		config: &configState{defs: map[string]string{}}}
	e.universe = e.builtins()
	thread := &starlark.Thread{Name: "tiltfile", Load: e.load}
	_, err := e.exec(thread, filepath.Join(opts.Root, "Tiltfile"))
	if err != nil {
		var ee *starlark.EvalError
		if errors.As(err, &ee) {
			return e.res, fmt.Errorf("%s", ee.Backtrace())
		}
		return e.res, err
	}
	return e.res, nil
}

// The options Tilt executes Tiltfiles with.
var fileOptions = &syntax.FileOptions{Set: true, GlobalReassign: true, Recursion: true, TopLevelControl: true, While: true}

func (e *evaluator) exec(thread *starlark.Thread, path string) (starlark.StringDict, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	old := thread.Local(execPathKey)
	thread.SetLocal(execPathKey, path)
	defer thread.SetLocal(execPathKey, old)
	e.res.Loaded = append(e.res.Loaded, path)
	predeclared := starlark.StringDict{}
	for k, v := range e.universe {
		predeclared[k] = v
	}
	predeclared["__file__"] = starlark.String(path)
	return starlark.ExecFileOptions(fileOptions, thread, path, src, predeclared)
}

// load resolves like Tilt: relative to the folder of the executing file;
// ext:// extensions are stubs.
func (e *evaluator) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	if strings.HasPrefix(module, "ext://") {
		return e.extension(strings.TrimPrefix(module, "ext://"))
	}
	path := e.abs(thread, module)
	if d, ok := e.loads[path]; ok {
		return d, nil
	}
	if e.loading[path] {
		return nil, fmt.Errorf("circular load: %s", path)
	}
	e.loading[path] = true
	d, err := e.exec(thread, path)
	if err != nil {
		return nil, err
	}
	e.loads[path] = d
	return d, nil
}

func (e *evaluator) dir(thread *starlark.Thread) string {
	if p, ok := thread.Local(execPathKey).(string); ok {
		return filepath.Dir(p)
	}
	return e.opts.Root
}

func (e *evaluator) abs(thread *starlark.Thread, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.dir(thread), p)
}

func position(thread *starlark.Thread) string {
	if thread.CallStackDepth() > 1 {
		return thread.CallFrame(1).Pos.String()
	}
	return ""
}

type builtinFn func(thread *starlark.Thread, args map[string]starlark.Value) (starlark.Value, error)

// define makes a builtin that binds its arguments to s, records the call
// and runs impl (nil: returns None).
func (e *evaluator) define(s signature, impl builtinFn) *starlark.Builtin {
	return starlark.NewBuiltin(s.fn, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		bound, err := s.bind(args, kwargs)
		if err != nil {
			return nil, err
		}
		e.res.Calls = append(e.res.Calls, Call{Fn: s.fn, Args: bound, Dir: e.dir(thread), Pos: position(thread)})
		if impl == nil {
			return starlark.None, nil
		}
		return impl(thread, bound)
	})
}

func (e *evaluator) builtins() starlark.StringDict {
	u := starlark.StringDict{
		"TRIGGER_MODE_AUTO":   starlark.String("TRIGGER_MODE_AUTO"),
		"TRIGGER_MODE_MANUAL": starlark.String("TRIGGER_MODE_MANUAL"),
		"struct":              starlark.NewBuiltin("struct", starlarkstruct.Make),
	}
	for _, s := range recordOnly {
		u[s.fn] = e.define(s, nil)
	}
	for _, s := range valueMakers {
		kind := s.fn
		u[s.fn] = e.define(s, func(_ *starlark.Thread, args map[string]starlark.Value) (starlark.Value, error) {
			return Object{Kind: kind, Args: args}, nil
		})
	}
	u["docker_build"] = e.define(sigDockerBuild, e.dockerBuild)
	u["custom_build"] = e.define(sigCustomBuild, nil)
	u["k8s_yaml"] = e.define(sigK8sYAML, e.k8sYAML)
	u["helm"] = e.define(sigHelm, e.helm)
	u["k8s_resource"] = e.define(sigK8sResource, nil)
	u["local_resource"] = e.define(sigLocalResource, nil)
	u["k8s_custom_deploy"] = e.define(sigK8sCustomDeploy, nil)
	u["fail"] = starlark.NewBuiltin("fail", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var msg string
		if err := starlark.UnpackArgs("fail", args, kwargs, "msg", &msg); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("fail: %s", msg)
	})
	u["k8s_context"] = e.define(sig("k8s_context"), func(*starlark.Thread, map[string]starlark.Value) (starlark.Value, error) {
		return starlark.String(e.opts.Context), nil
	})
	u["k8s_namespace"] = e.define(sig("k8s_namespace"), func(*starlark.Thread, map[string]starlark.Value) (starlark.Value, error) {
		return starlark.String("default"), nil
	})
	u["local"] = e.define(sig("local", "command", "quiet?", "command_bat?", "echo_off?", "env?", "dir?", "stdin?"), e.local)
	u["blob"] = e.define(sig("blob", "contents"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		return Blob{Text: Str(a["contents"]), Source: "blob"}, nil
	})
	u["read_file"] = e.define(sig("read_file", "file_path", "default?"), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		b, err := e.readFile(t, a["file_path"], a["default"])
		if err != nil {
			return nil, err
		}
		return Blob{Text: string(b), Source: Str(a["file_path"])}, nil
	})
	u["read_yaml"] = e.define(sig("read_yaml", "path", "default?"), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		b, err := e.readFile(t, a["path"], a["default"])
		if err != nil {
			return nil, err
		}
		return decodeYAML(b)
	})
	u["read_yaml_stream"] = e.define(sig("read_yaml_stream", "path", "default?"), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		b, err := e.readFile(t, a["path"], a["default"])
		if err != nil {
			return nil, err
		}
		return decodeYAMLStream(b)
	})
	u["read_json"] = e.define(sig("read_json", "path", "default?"), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		b, err := e.readFile(t, a["path"], a["default"])
		if err != nil {
			return nil, err
		}
		return decodeYAML(b)
	})
	u["decode_yaml"] = e.define(sig("decode_yaml", "yaml"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		return decodeYAML([]byte(Str(a["yaml"])))
	})
	u["decode_yaml_stream"] = e.define(sig("decode_yaml_stream", "yaml"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		return decodeYAMLStream([]byte(Str(a["yaml"])))
	})
	u["decode_json"] = e.define(sig("decode_json", "json"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		return decodeYAML([]byte(Str(a["json"])))
	})
	u["encode_yaml"] = e.define(sig("encode_yaml", "obj"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		b, err := encodeYAML(a["obj"])
		return Blob{Text: string(b), Source: "encode_yaml"}, err
	})
	u["encode_yaml_stream"] = e.define(sig("encode_yaml_stream", "objs"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		var parts []string
		for _, o := range List(a["objs"]) {
			b, err := encodeYAML(o)
			if err != nil {
				return nil, err
			}
			parts = append(parts, string(b))
		}
		return Blob{Text: strings.Join(parts, "---\n"), Source: "encode_yaml_stream"}, nil
	})
	u["encode_json"] = e.define(sig("encode_json", "obj"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		g, err := fromStarlark(a["obj"])
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(g)
		return Blob{Text: string(b), Source: "encode_json"}, err
	})
	u["listdir"] = e.define(sig("listdir", "directory", "recursive?"), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		dir := e.abs(t, Str(a["directory"]))
		var out []starlark.Value
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == dir {
				return nil
			}
			if d.IsDir() {
				if !Bool(a["recursive"]) {
					return filepath.SkipDir
				}
				return nil
			}
			out = append(out, starlark.String(p))
			return nil
		})
		return starlark.NewList(out), err
	})
	u["load_dynamic"] = e.define(sig("load_dynamic", "path"), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
		d, err := e.load(t, Str(a["path"]))
		if err != nil {
			return nil, err
		}
		out := starlark.NewDict(len(d))
		for k, v := range d {
			if err := out.SetKey(starlark.String(k), v); err != nil {
				return nil, err
			}
		}
		out.Freeze() // as Tilt's
		return out, nil
	})
	u["config"] = e.configModule()
	u["os"] = e.osModule()
	return u
}

// extension returns the stub of a Tilt extension (only the ones we use).
func (e *evaluator) extension(name string) (starlark.StringDict, error) {
	switch name {
	case "helm_resource":
		repoSig := sig("helm_repo", append([]string{"name", "url", "resource_name?", "username?", "password?"},
			optionalParams(sigLocalResource, "name", "cmd")...)...)
		return starlark.StringDict{
			"helm_resource": e.define(sigHelmResource, nil),
			"helm_repo":     e.define(repoSig, nil),
		}, nil
	}
	return nil, fmt.Errorf("load: extension %q has no stub (known: helm_resource)", name)
}

// optionalParams lists s's parameters except skip, all optional (the **kwargs
// an extension passes on).
func optionalParams(s signature, skip ...string) []string {
	var out []string
	for _, p := range s.params {
		name := strings.TrimSuffix(p, "?")
		skipped := false
		for _, k := range skip {
			skipped = skipped || k == name
		}
		if !skipped && p != "*" {
			out = append(out, name+"?")
		}
	}
	return out
}

func (e *evaluator) readFile(t *starlark.Thread, pathVal, def starlark.Value) ([]byte, error) {
	path := e.abs(t, Str(pathVal))
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && def != nil && def != starlark.None {
		return []byte(Str(def)), nil
	}
	return b, err
}

func (e *evaluator) dockerBuild(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
	// Tilt reads the Dockerfile while loading the Tiltfile.
	if a["dockerfile_contents"] != nil && a["dockerfile"] != nil {
		return nil, errors.New("docker_build: cannot specify both dockerfile and dockerfile_contents")
	}
	if a["dockerfile_contents"] == nil {
		df := "Dockerfile"
		if a["dockerfile"] != nil {
			df = Str(a["dockerfile"])
		} else {
			df = filepath.Join(Str(a["context"]), df)
		}
		if _, err := os.ReadFile(e.abs(t, df)); err != nil {
			return nil, fmt.Errorf("docker_build: error reading dockerfile: %w", err)
		}
	}
	return starlark.None, nil
}

func (e *evaluator) k8sYAML(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
	for _, v := range List(a["yaml"]) {
		var data []byte
		source := ""
		switch x := v.(type) {
		case Blob:
			data, source = []byte(x.Text), x.Source
		case starlark.String:
			path := e.abs(t, string(x))
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("k8s_yaml: %w", err)
			}
			data, source = b, path
		default:
			return nil, fmt.Errorf("k8s_yaml: want a path or a blob, got %s", v.Type())
		}
		docs, err := splitYAML(data)
		if err != nil {
			return nil, fmt.Errorf("k8s_yaml %s: %w", source, err)
		}
		for _, raw := range docs {
			var obj map[string]any
			if err := yaml.Unmarshal(raw, &obj); err != nil {
				return nil, fmt.Errorf("k8s_yaml %s: %w", source, err)
			}
			if len(obj) == 0 {
				continue
			}
			if str(obj["kind"]) == "" || meta(obj) == nil {
				return nil, fmt.Errorf("k8s_yaml %s: object without kind or metadata: %s", source, raw)
			}
			e.res.Docs = append(e.res.Docs, Doc{Object: obj, Raw: raw, Source: source})
		}
	}
	return starlark.None, nil
}

// local runs `helm dependency build CHART` with the given helm binary, as
// Tilt would: helm() renders a chart with dependencies only after it. Any
// other command is never run: the evaluation must not depend on the
// machine.
func (e *evaluator) local(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
	argv := Strs(a["command"])
	if len(argv) != 4 || argv[0] != "helm" || argv[1] != "dependency" || argv[2] != "build" {
		return Blob{Source: "local"}, nil
	}
	if e.opts.Helm == "" {
		return nil, errors.New("local: no helm binary given")
	}
	cmd := exec.Command(e.opts.Helm, argv[1:]...)
	cmd.Dir = e.dir(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("local %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return Blob{Text: string(out), Source: "local"}, nil
}

var helmTestSource = regexp.MustCompile(`(?m)^# Source: .*/tests/`)

// helm renders the chart with `helm template` and the arguments Tilt passes,
// drops the chart's test hooks and sets the namespace, as Tilt does.
func (e *evaluator) helm(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
	chart := e.abs(t, Str(a["paths"]))
	if fi, err := os.Stat(chart); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("helm: could not read Helm chart directory %q", chart)
	}
	name := Str(a["name"])
	if name == "" {
		name = "chart"
	}
	ns := Str(a["namespace"])
	argv := []string{"template", name, chart}
	if ns != "" {
		argv = append(argv, "--namespace", ns)
	}
	if kv := Str(a["kube_version"]); kv != "" {
		argv = append(argv, "--kube-version", kv)
	}
	if !Bool(a["skip_crds"]) {
		argv = append(argv, "--include-crds")
	}
	values := Strs(a["values"])
	for _, v := range values {
		argv = append(argv, "--values", v)
	}
	sets := Strs(a["set"])
	for _, s := range sets {
		argv = append(argv, "--set", s)
	}
	if e.opts.Helm == "" {
		return nil, errors.New("helm: no helm binary given")
	}
	cmd := exec.Command(e.opts.Helm, argv...)
	cmd.Dir = e.dir(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm %s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	docs, err := splitYAML(out)
	if err != nil {
		return nil, err
	}
	var kept []string
	for _, d := range docs {
		if helmTestSource.Match(d) {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal(d, &obj); err != nil {
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		if ns != "" && meta(obj) != nil && str(meta(obj)["namespace"]) == "" {
			meta(obj)["namespace"] = ns
		}
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		kept = append(kept, string(b))
	}
	e.res.Renders = append(e.res.Renders, Render{Chart: chart, Release: name, Namespace: ns, Values: values, Set: sets, Argv: argv})
	return Blob{Text: strings.Join(kept, "---\n"), Source: "helm: " + chart}, nil
}

func splitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			out = append(out, doc)
		}
	}
}

func decodeYAML(b []byte) (starlark.Value, error) {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return toStarlark(v)
}

func decodeYAMLStream(b []byte) (starlark.Value, error) {
	docs, err := splitYAML(b)
	if err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, d := range docs {
		v, err := decodeYAML(d)
		if err != nil {
			return nil, err
		}
		if v == starlark.None {
			continue
		}
		out = append(out, v)
	}
	return starlark.NewList(out), nil
}

func encodeYAML(v starlark.Value) ([]byte, error) {
	g, err := fromStarlark(v)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(g)
}

func (e *evaluator) configModule() *starlarkstruct.Module {
	define := func(kind string) *starlark.Builtin {
		s := sig("config.define_"+kind, "name", "args?", "usage?")
		return e.define(s, func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
			name := Str(a["name"])
			if _, dup := e.config.defs[name]; dup {
				return nil, fmt.Errorf("config.define_%s: %q defined twice", kind, name)
			}
			e.config.defs[name] = kind
			if Bool(a["args"]) {
				if e.config.argsOf != "" {
					return nil, errors.New("config: only one setting can take positional args")
				}
				e.config.argsOf = name
			}
			return starlark.None, nil
		})
	}
	return &starlarkstruct.Module{Name: "config", Members: starlark.StringDict{
		"define_bool":             define("bool"),
		"define_string":           define("string"),
		"define_string_list":      define("string_list"),
		"parse":                   e.define(sig("config.parse"), e.configParse),
		"set_enabled_resources":   e.define(sig("config.set_enabled_resources", "resources"), nil),
		"clear_enabled_resources": e.define(sig("config.clear_enabled_resources"), nil),
		"main_path":               starlark.String(filepath.Join(e.opts.Root, "Tiltfile")),
		"main_dir":                starlark.String(e.opts.Root),
	}}
}

type listFlag struct{ vals *[]string }

func (l listFlag) String() string     { return "" }
func (l listFlag) Set(s string) error { *l.vals = append(*l.vals, s); return nil }

type boolFlag struct {
	set *bool
	val *bool
}

func (b boolFlag) String() string   { return "" }
func (b boolFlag) IsBoolFlag() bool { return true }
func (b boolFlag) Set(s string) error {
	if *b.set {
		return errors.New("bool settings can only be specified once")
	}
	v, err := strconv.ParseBool(s)
	*b.val, *b.set = v, true
	return err
}

// configParse parses Options.Args against the defined settings like Tilt:
// only settings that were given appear in the result.
func (e *evaluator) configParse(*starlark.Thread, map[string]starlark.Value) (starlark.Value, error) {
	fs := flag.NewFlagSet("tiltfile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bools := map[string]*[2]bool{}
	strsVals := map[string]*[]string{}
	for name, kind := range e.config.defs {
		if name == e.config.argsOf {
			continue
		}
		switch kind {
		case "bool":
			b := &[2]bool{}
			bools[name] = b
			fs.Var(boolFlag{set: &b[0], val: &b[1]}, name, "")
		default:
			var vals []string
			strsVals[name] = &vals
			fs.Var(listFlag{vals: &vals}, name, "")
		}
	}
	if err := fs.Parse(e.opts.Args); err != nil {
		return nil, fmt.Errorf("invalid Tiltfile config args: %w", err)
	}
	if fs.NArg() > 0 {
		if e.config.argsOf == "" {
			return nil, fmt.Errorf("positional CLI args (%q) were specified, but none were expected", strings.Join(fs.Args(), " "))
		}
		v := fs.Args()
		strsVals[e.config.argsOf] = &v
	}
	flags := map[string]any{}
	d := starlark.NewDict(0)
	names := make([]string, 0, len(e.config.defs))
	for n := range e.config.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if b, ok := bools[name]; ok && b[0] {
			flags[name] = b[1]
			_ = d.SetKey(starlark.String(name), starlark.Bool(b[1]))
		}
		if v, ok := strsVals[name]; ok && len(*v) > 0 {
			if e.config.defs[name] == "string" {
				flags[name] = (*v)[len(*v)-1]
				_ = d.SetKey(starlark.String(name), starlark.String((*v)[len(*v)-1]))
				continue
			}
			flags[name] = *v
			var l []starlark.Value
			for _, s := range *v {
				l = append(l, starlark.String(s))
			}
			_ = d.SetKey(starlark.String(name), starlark.NewList(l))
		}
	}
	e.res.Flags = flags
	e.config.parsed = true
	return d, nil
}

func (e *evaluator) osModule() *starlarkstruct.Module {
	env := starlark.NewDict(len(e.opts.Env))
	for k, v := range e.opts.Env {
		_ = env.SetKey(starlark.String(k), starlark.String(v))
	}
	pathFn := func(name string, f func(t *starlark.Thread, p []string) starlark.Value, params ...string) *starlark.Builtin {
		return e.define(sig("os.path."+name, params...), func(t *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
			var ps []string
			for _, p := range params {
				ps = append(ps, Str(a[strings.TrimSuffix(p, "?")]))
			}
			return f(t, ps), nil
		})
	}
	path := &starlarkstruct.Module{Name: "os.path", Members: starlark.StringDict{
		"exists": pathFn("exists", func(t *starlark.Thread, p []string) starlark.Value {
			_, err := os.Stat(e.abs(t, p[0]))
			return starlark.Bool(err == nil)
		}, "path"),
		"join": e.define(sig("os.path.join", "path", "p2?", "p3?", "p4?"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
			parts := []string{Str(a["path"])}
			for _, k := range []string{"p2", "p3", "p4"} {
				if a[k] != nil {
					parts = append(parts, Str(a[k]))
				}
			}
			return starlark.String(filepath.Join(parts...)), nil
		}),
		"basename": pathFn("basename", func(_ *starlark.Thread, p []string) starlark.Value { return starlark.String(filepath.Base(p[0])) }, "path"),
		"dirname":  pathFn("dirname", func(_ *starlark.Thread, p []string) starlark.Value { return starlark.String(filepath.Dir(p[0])) }, "path"),
		"abspath":  pathFn("abspath", func(t *starlark.Thread, p []string) starlark.Value { return starlark.String(e.abs(t, p[0])) }, "path"),
	}}
	return &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
		"name":    starlark.String("posix"),
		"environ": env,
		"path":    path,
		"getcwd": e.define(sig("os.getcwd"), func(t *starlark.Thread, _ map[string]starlark.Value) (starlark.Value, error) {
			return starlark.String(e.dir(t)), nil
		}),
		"getenv": e.define(sig("os.getenv", "key", "default?"), func(_ *starlark.Thread, a map[string]starlark.Value) (starlark.Value, error) {
			if v, ok := e.opts.Env[Str(a["key"])]; ok {
				return starlark.String(v), nil
			}
			if a["default"] != nil {
				return a["default"], nil
			}
			return starlark.None, nil
		}),
	}}
}
