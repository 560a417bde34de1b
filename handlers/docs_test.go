package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestAPIDocsMatchRegistry keeps docs/API.md in step with the registry:
// every function has a section, and every parameter appears in its table.
func TestAPIDocsMatchRegistry(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	env := newAPIEnv(t)
	r := env.do(httptest.NewRequest(http.MethodGet, "/api/help", nil))
	var help struct {
		Functions []struct {
			Name       string `json:"name"`
			Parameters []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"parameters"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(r.Result, &help); err != nil {
		t.Fatal(err)
	}
	sections := strings.Split(string(doc), "\n### ")
	for _, fn := range help.Functions {
		var section string
		for _, s := range sections {
			if strings.HasPrefix(s, "`"+fn.Name+"`\n") {
				section = s
			}
		}
		if section == "" {
			t.Errorf("docs/API.md has no section for %s", fn.Name)
			continue
		}
		for _, p := range fn.Parameters {
			if !strings.Contains(section, "| `"+p.Name+"` | "+p.Type+" |") {
				t.Errorf("docs/API.md: %s does not document parameter %s (%s)", fn.Name, p.Name, p.Type)
			}
		}
	}
}
