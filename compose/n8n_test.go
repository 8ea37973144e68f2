package compose

import (
	"encoding/json"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

// The n8n workflow mounted into the n8n service parses, is the one it imports
// and publishes (by the workflow's id) before n8n starts, and its webhook path
// is the one catalog-sync posts to under compose and by default.
func TestN8nWorkflowMatchesTheSync(t *testing.T) {
	p := full(t)
	imp := service(t, p, "n8n")
	script := strings.Join(append(append([]string{}, imp.Entrypoint...), imp.Command...), " ")
	var input string
	for _, f := range strings.Fields(script) {
		if v, ok := strings.CutPrefix(f, "--input="); ok {
			input = v
		}
	}
	if input == "" || !strings.Contains(script, "import:workflow") {
		t.Fatalf("n8n does not run `n8n import:workflow --input=...`: %q", script)
	}
	if !regexp.MustCompile(`publish:workflow --id=\S+ && exec n8n start"?$`).MatchString(script) {
		t.Errorf("n8n must import and publish the workflow before it starts (n8n start last, exec'd): %q", script)
	}
	host := hostPath(imp, input)
	if host == "" {
		t.Fatalf("n8n imports %s, which is not mounted", input)
	}
	b, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Nodes []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Parameters struct {
				HTTPMethod string `json:"httpMethod"`
				Path       string `json:"path"`
			} `json:"parameters"`
		} `json:"nodes"`
		Connections map[string]any `json:"connections"`
	}
	if err := json.Unmarshal(b, &wf); err != nil {
		t.Fatalf("%s does not parse: %v", host, err)
	}
	if wf.ID == "" || len(wf.Nodes) < 2 || len(wf.Connections) == 0 {
		t.Fatalf("%s: not an n8n workflow (id, nodes, connections)", host)
	}
	if !strings.Contains(script, "publish:workflow --id="+wf.ID) {
		t.Errorf("n8n does not publish the workflow it imports (id %s): %q", wf.ID, script)
	}
	var hooks []string
	for _, n := range wf.Nodes {
		if n.Type == "n8n-nodes-base.webhook" {
			if n.Parameters.HTTPMethod != "POST" {
				t.Errorf("webhook node %s takes %s; catalog-sync POSTs", n.Name, n.Parameters.HTTPMethod)
			}
			hooks = append(hooks, n.Parameters.Path)
		}
	}
	if len(hooks) != 1 {
		t.Fatalf("workflow has %d webhook nodes, want 1", len(hooks))
	}

	sync := service(t, p, "catalog-sync")
	c, ok := configOf(t, svcOf(sync))
	if !ok {
		t.Fatal("catalog-sync has no configuration document")
	}
	doc, err := printConfig(c.bin, envOf(sync))
	if err != nil {
		t.Fatal(err)
	}
	composeURL, _ := doc["spec"].(map[string]any)["n8n"].(map[string]any)["webhookURL"].(string)
	defaults, err := printConfig(c.bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defaultURL, _ := defaults["spec"].(map[string]any)["n8n"].(map[string]any)["webhookURL"].(string)
	for what, raw := range map[string]string{"under compose": composeURL, "by default": defaultURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Path != "/webhook/"+hooks[0] {
			t.Errorf("catalog-sync posts to %q %s; the workflow's production webhook is /webhook/%s", raw, what, hooks[0])
		}
	}
	if u, _ := url.Parse(composeURL); u == nil || u.Hostname() != "n8n" || path.Clean(u.Path) == "" {
		t.Errorf("catalog-sync's webhook URL under compose is %q; want the n8n service", composeURL)
	}
	target := sync.Environment["SYNC_TARGET"]
	if target == nil || !strings.Contains(readFile(t, "docker-compose.yml"), "SYNC_TARGET: ${SYNC_TARGET:-directus}") {
		t.Errorf("the sync mode must be selectable with SYNC_TARGET in .env, defaulting to directus")
	}
}
