package dashboards

import (
	"encoding/json"
	"fmt"
)

// Render builds b and returns the JSON Grafana provisions: indented, with a
// trailing newline, byte-for-byte stable for the same code.
func Render(b Board) ([]byte, error) {
	d, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", b.File, err)
	}
	// Grafana keys panel state (links, edits) by id: number them in order.
	for i, p := range d.Panels {
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", b.File, err)
	}
	return append(out, '\n'), nil
}
