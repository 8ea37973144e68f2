// Package tilt holds the checks of the kind + Tilt dev loop: the Tiltfile at
// the repository root is evaluated with go.starlark.net against stubs of
// Tilt's builtins, and what it declares (images, charts, values, resources,
// port forwards) is checked against the repository and the rendered charts.
// Tilt itself loads only the Starlark files in this folder; it ignores the Go
// files.
package tilt
