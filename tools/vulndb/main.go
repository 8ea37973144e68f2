// Command vulndb turns the OSV reports of a golang.org/x/vulndb module
// snapshot (data/osv/*.json) into the file layout govulncheck reads with
// -db file:///DIR: index/db.json, index/modules.json and ID/<id>.json.
//
//	go run . -src $(go env GOMODCACHE)/golang.org/x/vulndb@VERSION/data/osv -modified 2026-11-05T23:49:57Z -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// entry is the part of an OSV report the index needs; the report itself
// is copied whole.
type entry struct {
	ID       string `json:"id"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	src := flag.String("src", "", "data/osv folder of a golang.org/x/vulndb module snapshot")
	out := flag.String("out", "", "folder to write the database to")
	modified := flag.String("modified", "", "snapshot time (RFC 3339), the commit time of the vulndb version")
	flag.Parse()
	mod, err := time.Parse(time.RFC3339, *modified)
	if err != nil || *src == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: vulndb -src DIR -out DIR -modified RFC3339 (run by scripts/vulncheck.sh)")
		os.Exit(2)
	}
	if err := build(*src, *out, mod.UTC()); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func build(src, out string, modified time.Time) error {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no OSV reports in %s (%v)", src, err)
	}
	if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return err
	}
	byModule := map[string][]moduleVuln{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var report map[string]any
		var e entry
		if err := json.Unmarshal(raw, &report); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" {
			return fmt.Errorf("%s: no id (%v)", f, err)
		}
		// The repository leaves "modified" to its publishing pipeline.
		report["modified"] = modified
		if err := writeJSON(filepath.Join(out, "ID", e.ID+".json"), report); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			if p := a.Package.Name; p != "" && !seen[p] {
				seen[p] = true
				byModule[p] = append(byModule[p], moduleVuln{ID: e.ID, Modified: modified})
			}
		}
	}
	mods := make([]module, 0, len(byModule))
	for p, v := range byModule {
		mods = append(mods, module{Path: p, Vulns: v})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), mods); err != nil {
		return err
	}
	fmt.Printf("vulndb: %d reports for %d modules → %s\n", len(files), len(mods), out)
	return writeJSON(filepath.Join(out, "index", "db.json"), map[string]time.Time{"modified": modified})
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
