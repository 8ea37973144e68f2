// Package web holds the storefront SPA (Vue 3 + Vite + Tailwind sources in
// src/) and embeds its production build, dist/, into the Go binary. dist/
// is not committed except for dist/.keep (copied back by every build from
// public/.keep), so `go build` works without Node: the binary then serves a
// page that says to run `make storefront-web`.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the build: index.html, assets/, and the files of public/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid, embedded directory name
	}
	return sub
}
