package tiltfile

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// signature is a builtin's parameter list as Tilt declares it: "name" is
// required, "name?" optional; parameters after "*" are keyword-only.
type signature struct {
	fn     string
	params []string
}

func sig(fn string, params ...string) signature { return signature{fn: fn, params: params} }

// bind matches a call's arguments to the signature the way Tilt's
// UnpackArgs does: positional in order, keywords by name, no unknown or
// repeated ones, every required one present.
func (s signature) bind(args starlark.Tuple, kwargs []starlark.Tuple) (map[string]starlark.Value, error) {
	type param struct {
		name             string
		optional, kwOnly bool
	}
	var ps []param
	kwOnly := false
	for _, p := range s.params {
		if p == "*" {
			kwOnly = true
			continue
		}
		ps = append(ps, param{name: strings.TrimSuffix(p, "?"), optional: strings.HasSuffix(p, "?"), kwOnly: kwOnly})
	}
	out := make(map[string]starlark.Value, len(args)+len(kwargs))
	positional := 0
	for _, p := range ps {
		if !p.kwOnly {
			positional++
		}
	}
	if len(args) > positional {
		return nil, fmt.Errorf("%s: got %d arguments, want at most %d", s.fn, len(args), positional)
	}
	for i, a := range args {
		out[ps[i].name] = a
	}
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		found := false
		for _, p := range ps {
			if p.name == name {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: unexpected keyword argument %q", s.fn, name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: got multiple values for parameter %q", s.fn, name)
		}
		out[name] = kv[1]
	}
	for _, p := range ps {
		if _, ok := out[p.name]; !ok && !p.optional {
			return nil, fmt.Errorf("%s: missing argument for %s", s.fn, p.name)
		}
	}
	return out, nil
}

// The builtins of Tilt (v0.37) that the stubs know, with Tilt's parameters.
var (
	sigDockerBuild = sig("docker_build", "ref", "context", "build_args?", "dockerfile?", "dockerfile_contents?",
		"live_update?", "match_in_env_vars?", "ignore?", "only?", "entrypoint?", "target?", "ssh?", "network?",
		"secret?", "extra_tag?", "container_args?", "cache_from?", "pull?", "platform?", "extra_hosts?")
	sigCustomBuild = sig("custom_build", "ref", "command", "deps", "tag?", "disable_push?", "skips_local_docker?",
		"live_update?", "match_in_env_vars?", "ignore?", "entrypoint?", "command_bat_val?", "outputs_image_ref_to?",
		"command_bat?", "image_deps?", "env?", "dir?")
	sigK8sYAML     = sig("k8s_yaml", "yaml", "allow_duplicates?")
	sigHelm        = sig("helm", "paths", "name?", "namespace?", "values?", "set?", "kube_version?", "skip_crds?")
	sigK8sResource = sig("k8s_resource", "workload?", "new_name?", "port_forwards?", "extra_pod_selectors?",
		"trigger_mode?", "resource_deps?", "objects?", "auto_init?", "pod_readiness?", "links?", "labels?",
		"discovery_strategy?")
	sigLocalResource = sig("local_resource", "name", "cmd?", "deps?", "trigger_mode?", "resource_deps?", "ignore?",
		"auto_init?", "serve_cmd?", "cmd_bat?", "serve_cmd_bat?", "allow_parallel?", "links?", "labels?", "env?",
		"serve_env?", "readiness_probe?", "dir?", "serve_dir?")
	sigK8sCustomDeploy = sig("k8s_custom_deploy", "name", "apply_cmd", "delete_cmd", "deps", "image_selector?",
		"live_update?", "apply_dir?", "apply_env?", "apply_cmd_bat?", "delete_dir?", "delete_env?",
		"delete_cmd_bat?", "container_selector?", "image_deps?")

	// Builtins that only record their arguments.
	recordOnly = []signature{
		sig("version_settings", "check_updates?", "constraint?"),
		sig("allow_k8s_contexts", "contexts"),
		sig("update_settings", "max_parallel_updates?", "k8s_upsert_timeout_secs?", "suppress_unused_image_warnings?",
			"k8s_server_side_apply?"),
		sig("watch_settings", "ignore"),
		sig("secret_settings", "disable_scrub?"),
		sig("analytics_settings", "enable"),
		sig("docker_prune_settings", "disable?", "max_age_mins?", "num_builds?", "interval_hrs?", "keep_recent?"),
		sig("ci_settings", "k8s_grace_period?", "timeout?", "readiness_timeout?"),
		sig("trigger_mode", "trigger_mode"),
		sig("default_registry", "host", "host_from_cluster?", "single_name?"),
		sig("k8s_kind", "kind", "api_version?", "*", "image_json_path?", "image_object?", "pod_readiness?"),
		sig("watch_file", "file_path"),
		sig("warn", "msg"),
	}

	// Builtins that make a value (live update steps, links, probes...).
	valueMakers = []signature{
		sig("port_forward", "local_port", "container_port?", "name?", "link_path?", "host?"),
		sig("link", "url", "name?"),
		sig("sync", "local_path", "remote_path"),
		sig("run", "cmd", "trigger?", "echo_off?"),
		sig("restart_container"),
		sig("fall_back_on", "files"),
		sig("initial_sync"),
		sig("probe", "initial_delay_secs?", "timeout_secs?", "period_secs?", "success_threshold?",
			"failure_threshold?", "exec?", "http_get?", "tcp_socket?"),
		sig("exec_action", "command"),
		sig("http_get_action", "port", "host?", "scheme?", "path?"),
		sig("tcp_socket_action", "port", "host?"),
	}

	// The helm_resource extension (ext://helm_resource).
	sigHelmResource = sig("helm_resource", "name", "chart", "deps?", "release_name?", "namespace?", "image_deps?",
		"image_keys?", "flags?", "uninstall_flags?", "image_selector?", "container_selector?", "live_update?",
		"resource_deps?", "labels?", "port_forwards?", "auto_init?", "pod_readiness?", "update_dependencies?",
		"build_dependencies?", "links?")
)
