// Package spa serves the storefront's single-page application from an
// embedded build: hashed assets with a year-long immutable cache, index.html
// (never cached) for every client-side route, the runtime configuration at
// /config.json, and a Content-Security-Policy that lets the page talk to
// exactly the configured api and Directus origins.
package spa

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// RuntimeConfig is what the browser reads from /config.json before it
// starts: one build runs against any api and Directus.
type RuntimeConfig struct {
	APIURL      string `json:"apiURL"`
	DirectusURL string `json:"directusURL"`
	Version     string `json:"version"`
}

// Site is the SPA of one storefront process.
type Site struct {
	files  fs.FS
	index  []byte
	csp    string
	config []byte
	gz     map[string][]byte // precompressed text assets by path
}

// ErrNotBuilt means the build has no index.html (the SPA was not built
// before `go build`: run `make storefront-web`).
var ErrNotBuilt = errors.New("the SPA build has no index.html: run `make storefront-web` before `go build`")

// New reads the build in files (the contents of web/dist). A missing
// index.html is not fatal: the site then serves a page that says how to
// build it, and Built reports ErrNotBuilt for /readyz.
func New(files fs.FS, cfg RuntimeConfig, csp string) (*Site, error) {
	conf, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	s := &Site{files: files, csp: csp, config: conf, gz: map[string][]byte{}}
	s.index, err = fs.ReadFile(files, "index.html")
	if err != nil {
		s.index = []byte(notBuiltPage)
	}
	err = fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !compressible(p) {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		s.gz[p] = gzipped(b)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return s, nil
}

// Built is the readiness check: nil once a real build is embedded.
func (s *Site) Built() error {
	if _, err := fs.Stat(s.files, "index.html"); err != nil {
		return ErrNotBuilt
	}
	return nil
}

// Config serves /config.json.
func (s *Site) Config(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.config)
}

// ServeHTTP serves a file of the build, or index.html for client routes.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	h := w.Header()
	// The page itself gets the storefront's policy; platform middleware
	// set the API default (deny everything) before us.
	h.Set("Content-Security-Policy", s.csp)
	if name == "" || name == "index.html" {
		s.serveIndex(w)
		return
	}
	hidden := strings.HasPrefix(name, ".") || strings.Contains(name, "/.")
	if st, err := fs.Stat(s.files, name); err == nil && !st.IsDir() && !hidden {
		s.serveFile(w, r, name)
		return
	}
	// A missing asset or file must not turn into the page: the browser
	// would parse HTML as a script. Only extension-less paths are routes.
	if strings.HasPrefix(name, "assets/") || hidden || path.Ext(name) != "" {
		http.NotFound(w, r)
		return
	}
	s.serveIndex(w)
}

func (s *Site) serveIndex(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.index)
}

func (s *Site) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	if strings.HasPrefix(name, "assets/") {
		// Vite puts a content hash in every file name under assets/.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	body, ok := s.gz[name]
	if ok && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	} else {
		b, err := fs.ReadFile(s.files, name)
		if err != nil {
			http.Error(w, "cannot read "+name, http.StatusInternalServerError)
			return
		}
		body = b
		if ok {
			h.Add("Vary", "Accept-Encoding")
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func compressible(name string) bool {
	switch path.Ext(name) {
	case ".js", ".css", ".svg", ".json", ".html", ".txt", ".map":
		return true
	}
	return false
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// CSP is the page's policy: scripts, styles and fonts only from the
// storefront itself; fetches only to itself, the api and Directus; images
// also from Directus and the configured image sources.
func CSP(apiOrigin, directusOrigin string, imageSources []string) string {
	img := append([]string{"'self'", "data:", directusOrigin}, imageSources...)
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + strings.Join(img, " "),
		"font-src 'self'",
		"connect-src 'self' " + apiOrigin + " " + directusOrigin,
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>goshop storefront: not built</title></head>
<body><h1>The storefront SPA is not built into this binary</h1>
<p>Run <code>make storefront-web</code> (Node and npm), then <code>go build</code> the storefront again.</p>
</body></html>
`
