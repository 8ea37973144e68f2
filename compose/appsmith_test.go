package compose

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const appsmithExport = "compose/appsmith/shop-admin.json"

type appsmithApp struct {
	ArtifactJSONType    string  `json:"artifactJsonType"`
	ClientSchemaVersion float64 `json:"clientSchemaVersion"`
	ServerSchemaVersion float64 `json:"serverSchemaVersion"`
	ExportedApplication struct {
		Name  string `json:"name"`
		Pages []struct {
			ID        string `json:"id"`
			IsDefault bool   `json:"isDefault"`
		} `json:"pages"`
	} `json:"exportedApplication"`
	DatasourceList []json.RawMessage `json:"datasourceList"`
	PageList       []struct {
		UnpublishedPage appsmithPage `json:"unpublishedPage"`
		PublishedPage   appsmithPage `json:"publishedPage"`
	} `json:"pageList"`
	ActionList []struct {
		ID                string         `json:"id"`
		PluginType        string         `json:"pluginType"`
		PluginID          string         `json:"pluginId"`
		UnpublishedAction appsmithAction `json:"unpublishedAction"`
		PublishedAction   appsmithAction `json:"publishedAction"`
	} `json:"actionList"`
	ActionCollectionList []json.RawMessage `json:"actionCollectionList"`
}

type appsmithPage struct {
	Name    string `json:"name"`
	Layouts []struct {
		DSL                 map[string]any `json:"dsl"`
		LayoutOnLoadActions [][]struct {
			ID, Name string
		} `json:"layoutOnLoadActions"`
	} `json:"layouts"`
}

type appsmithAction struct {
	Name       string `json:"name"`
	PageID     string `json:"pageId"`
	Datasource struct {
		Name                    string `json:"name"`
		PluginID                string `json:"pluginId"`
		DatasourceConfiguration struct {
			URL string `json:"url"`
		} `json:"datasourceConfiguration"`
	} `json:"datasource"`
	ActionConfiguration struct {
		Path            string `json:"path"`
		HTTPMethod      string `json:"httpMethod"`
		Body            string `json:"body"`
		Headers         []kv   `json:"headers"`
		QueryParameters []kv   `json:"queryParameters"`
	} `json:"actionConfiguration"`
	DynamicBindingPathList []struct{ Key string } `json:"dynamicBindingPathList"`
}

type kv struct{ Key, Value string }

// openAPI is the part of services/api/openapi/openapi.yaml the check needs.
type openAPI struct {
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas    map[string]schema  `yaml:"schemas"`
		Parameters map[string]oaParam `yaml:"parameters"`
	} `yaml:"components"`
}

type oaParam struct {
	Ref      string `yaml:"$ref"`
	Name     string `yaml:"name"`
	In       string `yaml:"in"`
	Required bool   `yaml:"required"`
	Schema   schema `yaml:"schema"`
}

type schema struct {
	Ref        string            `yaml:"$ref"`
	Required   []string          `yaml:"required"`
	Properties map[string]schema `yaml:"properties"`
	Enum       []string          `yaml:"enum"`
}

type operation struct {
	Parameters  []oaParam             `yaml:"parameters"`
	Security    []map[string][]string `yaml:"security"`
	RequestBody struct {
		Content map[string]struct {
			Schema schema `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"requestBody"`
}

func loadOpenAPI(t *testing.T) openAPI {
	var doc openAPI
	if err := yaml.Unmarshal([]byte(readFile(t, "services/api/openapi/openapi.yaml")), &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

// find returns the operation for a method and a concrete path template
// ("/api/v1/products/{x}") and the OpenAPI path it matched.
func (d openAPI) find(method, path string) (operation, []oaParam, string, bool) {
	for p, item := range d.Paths {
		if templateRE(p).MatchString(path) {
			var common []oaParam
			if n, ok := item["parameters"]; ok {
				_ = n.Decode(&common)
			}
			n, ok := item[strings.ToLower(method)]
			if !ok {
				return operation{}, nil, p, false
			}
			var op operation
			if err := n.Decode(&op); err != nil {
				return operation{}, nil, p, false
			}
			return op, d.resolveParams(append(common, op.Parameters...)), p, true
		}
	}
	return operation{}, nil, "", false
}

func (d openAPI) resolveParams(ps []oaParam) []oaParam {
	var out []oaParam
	for _, p := range ps {
		if p.Ref != "" {
			p = d.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
		}
		out = append(out, p)
	}
	return out
}

func (d openAPI) resolve(s schema) schema {
	for s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// templateRE matches a path of the export, whose {{bindings}} became {x},
// against an OpenAPI path with {parameters}.
func templateRE(p string) *regexp.Regexp {
	parts := regexp.MustCompile(`\{[^}]+\}`).Split(p, -1)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, `\{x\}`) + "$")
}

var binding = regexp.MustCompile(`\{\{.*?\}\}`)

func loadAppsmith(t *testing.T) appsmithApp {
	b, err := os.ReadFile(filepath.Join(root, appsmithExport))
	if err != nil {
		t.Fatal(err)
	}
	var app appsmithApp
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatalf("%s does not parse: %v", appsmithExport, err)
	}
	return app
}

// The Appsmith export has the shape Appsmith imports, its actions call
// routes of the api's OpenAPI document with the right methods, headers,
// query parameters and body fields, through the api service of the compose
// network, and every action a widget runs exists (and every action is used).
func TestAppsmithExportCallsTheAPI(t *testing.T) {
	app := loadAppsmith(t)
	if app.ArtifactJSONType != "APPLICATION" || app.ClientSchemaVersion < 1 || app.ServerSchemaVersion < 1 ||
		app.ExportedApplication.Name == "" || len(app.PageList) == 0 || len(app.ActionList) == 0 {
		t.Fatalf("%s is not an Appsmith application export (artifactJsonType, schema versions, exportedApplication, pageList, actionList)", appsmithExport)
	}
	pages := map[string]bool{}
	var dsl strings.Builder
	for _, p := range app.PageList {
		pages[p.UnpublishedPage.Name] = true
		if len(p.UnpublishedPage.Layouts) == 0 || p.UnpublishedPage.Layouts[0].DSL["type"] != "CANVAS_WIDGET" {
			t.Errorf("page %s has no canvas layout", p.UnpublishedPage.Name)
		}
		b, _ := json.Marshal(p.UnpublishedPage.Layouts)
		dsl.Write(b)
		pb, _ := json.Marshal(p.PublishedPage.Layouts)
		if string(pb) != string(b) {
			t.Errorf("page %s: the published layout differs from the edited one (publish in Appsmith before exporting)", p.UnpublishedPage.Name)
		}
	}
	for _, p := range app.ExportedApplication.Pages {
		if !pages[p.ID] {
			t.Errorf("exportedApplication.pages names %s, which is not in pageList", p.ID)
		}
	}

	p := full(t)
	ports := listening(t, p)
	api := loadOpenAPI(t)
	called := map[string]bool{}
	names := map[string]bool{}
	for _, a := range app.ActionList {
		ua := a.UnpublishedAction
		if names[ua.Name] {
			t.Errorf("two actions are called %s", ua.Name)
		}
		names[ua.Name] = true
		pa, _ := json.Marshal(a.PublishedAction)
		ub, _ := json.Marshal(ua)
		if string(pa) != string(ub) {
			t.Errorf("action %s: published and edited versions differ", ua.Name)
		}
		if a.PluginType != "API" || a.PluginID != "restapi-plugin" {
			t.Errorf("action %s is a %s/%s, not a REST API action", ua.Name, a.PluginType, a.PluginID)
			continue
		}
		if !pages[ua.PageID] {
			t.Errorf("action %s belongs to page %q, which does not exist", ua.Name, ua.PageID)
		}
		u, err := url.Parse(ua.Datasource.DatasourceConfiguration.URL)
		if err != nil || !ports[u.Hostname()][u.Port()] {
			t.Errorf("action %s calls %q: not a compose service and the port it listens on", ua.Name, ua.Datasource.DatasourceConfiguration.URL)
		}
		if u != nil && u.Hostname() != "api" {
			t.Errorf("action %s calls %s, not the api", ua.Name, u.Host)
		}
		cfg := ua.ActionConfiguration
		path := binding.ReplaceAllString(cfg.Path, "{x}")
		op, params, oaPath, ok := api.find(cfg.HTTPMethod, path)
		if !ok {
			t.Errorf("action %s: %s %s is not an operation of the api's OpenAPI document", ua.Name, cfg.HTTPMethod, cfg.Path)
			continue
		}
		called[cfg.HTTPMethod+" "+oaPath] = true
		headers := map[string]string{}
		for _, h := range cfg.Headers {
			if h.Key != "" {
				headers[strings.ToLower(h.Key)] = h.Value
			}
		}
		if len(op.Security) > 0 && !strings.HasPrefix(headers["authorization"], "Bearer {{") {
			t.Errorf("action %s: %s %s needs a bearer token; the Authorization header is %q", ua.Name, cfg.HTTPMethod, oaPath, headers["authorization"])
		}
		for _, prm := range params {
			switch prm.In {
			case "header":
				if prm.Required && headers[strings.ToLower(prm.Name)] == "" {
					t.Errorf("action %s: %s %s requires header %s", ua.Name, cfg.HTTPMethod, oaPath, prm.Name)
				}
			}
		}
		if v := headers["if-match"]; v != "" && !regexp.MustCompile(`^"\{\{.*\}\}"$`).MatchString(v) {
			t.Errorf("action %s: If-Match %q is not a quoted ETag", ua.Name, v)
		}
		for _, q := range cfg.QueryParameters {
			if q.Key == "" {
				continue
			}
			if !slices.ContainsFunc(params, func(p oaParam) bool { return p.In == "query" && p.Name == q.Key }) {
				t.Errorf("action %s: query parameter %s is not one of %s %s", ua.Name, q.Key, cfg.HTTPMethod, oaPath)
			}
		}
		checkBody(t, api, ua.Name, cfg.HTTPMethod+" "+oaPath, op, cfg.Body, headers)
		for _, key := range []string{"path", "body"} {
			text := map[string]string{"path": cfg.Path, "body": cfg.Body}[key]
			bound := slices.ContainsFunc(ua.DynamicBindingPathList, func(b struct{ Key string }) bool { return b.Key == key })
			if strings.Contains(text, "{{") != bound {
				t.Errorf("action %s: %s has bindings %v but dynamicBindingPathList says %v", ua.Name, key, strings.Contains(text, "{{"), bound)
			}
		}
	}
	for _, want := range []string{
		"POST /api/v1/auth/login", "GET /api/v1/products", "POST /api/v1/products", "PUT /api/v1/products/{id}",
		"POST /api/v1/products/{id}/stock-adjustments", "GET /api/v1/orders", "GET /api/v1/orders/{id}",
		"POST /api/v1/orders/{id}/shipments", "POST /api/v1/orders/{id}/delivery", "POST /api/v1/orders/{id}/cancel",
		// The operations console.
		"GET /api/v1/admin/queues", "POST /api/v1/admin/queues/consumption", "POST /api/v1/admin/intake",
		"GET /api/v1/admin/dead-letters", "GET /api/v1/admin/dead-letters/{id}", "POST /api/v1/admin/dead-letters/replay",
		"POST /api/v1/admin/dead-letters/discard", "GET /api/v1/admin/catalog", "GET /api/v1/admin/catalog/dead-events",
		"GET /api/v1/admin/catalog/dead-events/{id}", "POST /api/v1/admin/catalog/dead-events/retry",
		"POST /api/v1/admin/catalog/reconciles", "GET /api/v1/admin/catalog/reconciles/{id}", "GET /api/v1/admin/actions",
	} {
		if !called[want] {
			t.Errorf("the admin app has no action for %s", want)
		}
	}

	// Widgets and page loads only run actions that exist; every action is run by something.
	all := dsl.String()
	for _, m := range regexp.MustCompile(`\b([A-Z][A-Za-z0-9]*)\.run\(`).FindAllStringSubmatch(all, -1) {
		if !names[m[1]] {
			t.Errorf("a widget runs %s.run(), but there is no action %s", m[1], m[1])
		}
	}
	for name := range names {
		if !strings.Contains(all, name+".run(") && !strings.Contains(all, `"name":"`+name+`"`) {
			t.Errorf("action %s is never run (no widget, not on page load)", name)
		}
	}
}

// The Orders page's status filter offers "all" and every status the api
// filters by (the enum of GET /api/v1/orders?status=), so a new state of
// the order lifecycle cannot be missing from it.
func TestAppsmithStatusFilterHasEveryStatus(t *testing.T) {
	app := loadAppsmith(t)
	api := loadOpenAPI(t)
	_, params, _, ok := api.find("GET", "/api/v1/orders")
	if !ok {
		t.Fatal("GET /api/v1/orders is not in the api's OpenAPI document")
	}
	var want []string
	for _, p := range params {
		if p.In == "query" && p.Name == "status" {
			want = append([]string{""}, api.resolve(p.Schema).Enum...)
		}
	}
	if len(want) < 2 {
		t.Fatal("GET /api/v1/orders has no status query parameter with an enum")
	}
	var got []string
	for _, p := range app.PageList {
		if p.UnpublishedPage.Name != "Orders" || len(p.UnpublishedPage.Layouts) == 0 {
			continue
		}
		w := findWidget(p.UnpublishedPage.Layouts[0].DSL, "StatusSelect")
		if w == nil {
			t.Fatal("the Orders page has no StatusSelect widget")
		}
		if w["onOptionChange"] == nil || !strings.Contains(fmt.Sprint(w["onOptionChange"]), "ListOrders.run(") {
			t.Errorf("StatusSelect does not reload the list (onOptionChange %v)", w["onOptionChange"])
		}
		for _, key := range []string{"options", "sourceData"} {
			opts, _ := w[key].([]any)
			var values []string
			for _, o := range opts {
				m, _ := o.(map[string]any)
				values = append(values, fmt.Sprint(m["value"]))
			}
			if key == "options" {
				got = values
			} else if !slices.Equal(values, got) {
				t.Errorf("StatusSelect: sourceData %v and options %v differ", values, got)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the Orders page's status filter offers %q; the api filters by %q (and \"\" for all)", got, want)
	}
}

// The console's actions in the admin app: each one calls the api path it
// is named for, with the switch value or selection it stands for, and
// every one of them sends the reason (which the api keeps in the audit log)
// from a required input on its own page; a button runs it only once a
// reason is typed.
func TestAppsmithConsoleActionsGiveAReason(t *testing.T) {
	app := loadAppsmith(t)
	want := map[string]struct {
		page, method, path string
		fields             map[string]string // body field -> its literal JSON, or "{{" for any binding
	}{
		"PauseConsumption":     {"Queues", "POST", "/api/v1/admin/queues/consumption", map[string]string{"paused": "true"}},
		"ResumeConsumption":    {"Queues", "POST", "/api/v1/admin/queues/consumption", map[string]string{"paused": "false"}},
		"PauseIntake":          {"Queues", "POST", "/api/v1/admin/intake", map[string]string{"paused": "true", "retry_after_seconds": "{{"}},
		"ResumeIntake":         {"Queues", "POST", "/api/v1/admin/intake", map[string]string{"paused": "false"}},
		"ReplayDeadLetters":    {"Dead letters", "POST", "/api/v1/admin/dead-letters/replay", map[string]string{"ids": "{{DeadLettersTable.selectedRows"}},
		"DiscardDeadLetters":   {"Dead letters", "POST", "/api/v1/admin/dead-letters/discard", map[string]string{"ids": "{{DeadLettersTable.selectedRows"}},
		"ReplayAllDeadLetters": {"Dead letters", "POST", "/api/v1/admin/dead-letters/replay", map[string]string{"all": "true", "filter": "{{"}},
		"RetryDeadEvents":      {"Catalogue sync", "POST", "/api/v1/admin/catalog/dead-events/retry", map[string]string{"ids": "{{DeadEventsTable.selectedRows"}},
		"RetryAllDeadEvents":   {"Catalogue sync", "POST", "/api/v1/admin/catalog/dead-events/retry", map[string]string{"all": "true"}},
		"RequestReconcile":     {"Catalogue sync", "POST", "/api/v1/admin/catalog/reconciles", map[string]string{}},
	}
	dsl := map[string]map[string]any{}
	for _, p := range app.PageList {
		if len(p.UnpublishedPage.Layouts) > 0 {
			dsl[p.UnpublishedPage.Name] = p.UnpublishedPage.Layouts[0].DSL
		}
	}
	quoted := regexp.MustCompile(`\{\{.*?\}\}`)
	seen := map[string]bool{}
	for _, a := range app.ActionList {
		ua := a.UnpublishedAction
		cfg := ua.ActionConfiguration
		w, named := want[ua.Name]
		if !named {
			if cfg.HTTPMethod == "POST" && strings.HasPrefix(cfg.Path, "/api/v1/admin/") {
				t.Errorf("action %s: %s %s is a console action this test does not know", ua.Name, cfg.HTTPMethod, cfg.Path)
			}
			continue
		}
		seen[ua.Name] = true
		if ua.PageID != w.page || cfg.HTTPMethod != w.method || cfg.Path != w.path {
			t.Errorf("action %s is %s %s on page %s, want %s %s on page %s", ua.Name, cfg.HTTPMethod, cfg.Path, ua.PageID, w.method, w.path, w.page)
		}
		// Bindings become strings, so the body parses and literals stay literals.
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(quoted.ReplaceAllStringFunc(cfg.Body, func(b string) string { q, _ := json.Marshal(b); return string(q) })), &body); err != nil {
			t.Errorf("action %s: body is not JSON with {{bindings}} as values: %v", ua.Name, err)
			continue
		}
		for field, lit := range w.fields {
			got := string(body[field])
			if strings.HasPrefix(lit, "{{") {
				if !strings.HasPrefix(got, `"`+lit) {
					t.Errorf("action %s: %s is %s, want a binding starting %s", ua.Name, field, got, lit)
				}
			} else if got != lit {
				t.Errorf("action %s: %s is %s, want %s", ua.Name, field, got, lit)
			}
		}
		var reason string
		_ = json.Unmarshal(body["reason"], &reason)
		m := regexp.MustCompile(`^\{\{\s*([A-Za-z0-9]+)\.text\s*\}\}$`).FindStringSubmatch(reason)
		if m == nil {
			t.Errorf("action %s sends reason %q, not the text of an input", ua.Name, reason)
			continue
		}
		input := findWidget(dsl[ua.PageID], m[1])
		if input == nil || input["type"] != "INPUT_WIDGET_V2" || input["isRequired"] != true {
			t.Errorf("action %s: the reason comes from %s, which is not a required input on page %s", ua.Name, m[1], ua.PageID)
		}
		for _, b := range widgetsRunning(dsl[ua.PageID], ua.Name) {
			if disabled := fmt.Sprint(b["isDisabled"]); !strings.Contains(disabled, "!"+m[1]+".text") {
				t.Errorf("button %s runs %s even without a reason (isDisabled %s)", b["widgetName"], ua.Name, disabled)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("the admin app has no action %s", name)
		}
	}
}

// widgetsRunning lists the buttons whose onClick runs action.
func widgetsRunning(w map[string]any, action string) []map[string]any {
	var out []map[string]any
	if w["type"] == "BUTTON_WIDGET" && strings.Contains(fmt.Sprint(w["onClick"]), action+".run(") {
		out = append(out, w)
	}
	kids, _ := w["children"].([]any)
	for _, k := range kids {
		if m, ok := k.(map[string]any); ok {
			out = append(out, widgetsRunning(m, action)...)
		}
	}
	return out
}

func findWidget(w map[string]any, name string) map[string]any {
	if w["widgetName"] == name {
		return w
	}
	kids, _ := w["children"].([]any)
	for _, k := range kids {
		if m, ok := k.(map[string]any); ok {
			if f := findWidget(m, name); f != nil {
				return f
			}
		}
	}
	return nil
}

// checkBody: a JSON body (with {{bindings}} as values) sends exactly fields
// of the operation's request schema, all the required ones included.
func checkBody(t *testing.T, api openAPI, action, op string, o operation, body string, headers map[string]string) {
	media, hasBody := o.RequestBody.Content["application/json"]
	if !hasBody {
		if strings.TrimSpace(body) != "" {
			t.Errorf("action %s sends a body, but %s takes none", action, op)
		}
		return
	}
	if headers["content-type"] != "application/json" {
		t.Errorf("action %s: %s needs Content-Type application/json, has %q", action, op, headers["content-type"])
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(binding.ReplaceAllString(body, "null")), &fields); err != nil {
		t.Errorf("action %s: body is not a JSON object with {{bindings}} as values: %v\n%s", action, err, body)
		return
	}
	s := api.resolve(media.Schema)
	for f := range fields {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("action %s: %s has no body field %q", action, op, f)
		}
	}
	for _, r := range s.Required {
		if _, ok := fields[r]; !ok {
			t.Errorf("action %s: %s requires body field %q", action, op, r)
		}
	}
}

// The api lets Appsmith's origin call it from the browser (CORS), as
// Appsmith is published in compose.
func TestAPIAllowsAppsmithOrigin(t *testing.T) {
	p := full(t)
	origins := service(t, p, "api").Environment["API_CORS_ALLOWED_ORIGINS"]
	env := testEnv(t)
	if origins == nil || !slices.Contains(strings.Split(*origins, ","), env["APPSMITH_PUBLIC_URL"]) {
		t.Errorf("API_CORS_ALLOWED_ORIGINS %v does not allow Appsmith (%s)", origins, env["APPSMITH_PUBLIC_URL"])
	}
	if !slices.Contains(strings.Split(*origins, ","), env["SHOP_PUBLIC_URL"]) {
		t.Errorf("API_CORS_ALLOWED_ORIGINS %v does not allow the storefront (%s)", *origins, env["SHOP_PUBLIC_URL"])
	}
	u, _ := url.Parse(env["APPSMITH_PUBLIC_URL"])
	if !publishes(service(t, p, "appsmith"), u.Port()) {
		t.Errorf("APPSMITH_PUBLIC_URL %s is not a port the appsmith service publishes", u)
	}
}
