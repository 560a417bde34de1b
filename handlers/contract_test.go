package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"guildhall/handlers"
)

// The API contract: every request and answer of the API tests is checked
// against the OpenAPI document the server serves, by a maintained
// validator (getkin/kin-openapi's openapi3filter, JSON Schema 2020-12 for
// an OpenAPI 3.1 document), so the document cannot describe one API while
// the server speaks another:
//
//   - every answer to a documented operation must be described by it:
//     its status, its envelope, its result, its error code;
//   - a request the document calls invalid must not succeed;
//   - a path or method the document does not have must be refused with a
//     404 or 405 envelope.
//
// Tests reach the API through checked (a handler wrapper), or call
// checkContract themselves.

// contract is the document, parsed and validated once per test binary.
var contract struct {
	once   sync.Once
	spec   []byte
	doc    *openapi3.T
	router routers.Router
	err    error
}

// openAPI31 are the validation options of an OpenAPI 3.1 document: its
// schemas are JSON Schema 2020-12.
var openAPI31 = []openapi3.ValidationOption{openapi3.IsOpenAPI31OrLater()}

// contractOptions are openapi3filter's options for every exchange. An
// answer's status must be listed (the operations have no default
// response) and its body must match; the request's body is checked too.
var contractOptions = &openapi3filter.Options{
	IncludeResponseStatus: true,
	MultiError:            true,
	// The document names the credentials (auth among the arguments, or
	// Authorization: Bearer), but only the server can judge them: it
	// answers a bad one with 401, an answer the document must describe.
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
}

// loadContract fetches /api/openapi.json from a server and builds the validator.
func loadContract(tb testing.TB) {
	tb.Helper()
	contract.once.Do(func() {
		rec := httptest.NewRecorder()
		handlers.New(nil, handlers.Config{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
		if rec.Code != http.StatusOK {
			contract.err = fmt.Errorf("GET /api/openapi.json: %d %s", rec.Code, rec.Body)
			return
		}
		contract.spec = rec.Body.Bytes()
		doc, err := openapi3.NewLoader().LoadFromData(contract.spec)
		if err != nil {
			contract.err = fmt.Errorf("load the document: %w", err)
			return
		}
		// NewRouter validates the document first.
		router, err := legacy.NewRouter(doc, openAPI31...)
		if err != nil {
			contract.err = fmt.Errorf("build the router: %w", err)
			return
		}
		if doc.Components == nil || doc.Components.Schemas["Failure"] == nil {
			contract.err = fmt.Errorf("no schema Failure in the document")
			return
		}
		contract.doc, contract.router = doc, router
	})
	if contract.err != nil {
		tb.Fatal(contract.err)
	}
}

// checked wraps an API handler so that every /api exchange through it is
// checked against the document; a breach fails tb.
func checked(tb testing.TB, h http.Handler) http.Handler {
	loadContract(tb)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if err := checkContract(r, body, rec); err != nil {
			tb.Errorf("%v", err)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// checkContract checks one exchange: the request r (whose body was body)
// and the answer rec.
func checkContract(r *http.Request, body []byte, rec *httptest.ResponseRecorder) error {
	what := r.Method + " " + r.URL.String()
	ctx := context.Background()
	route, pathParams, err := contract.router.FindRoute(r)
	if err != nil {
		// Not in the document (routers.ErrPathNotFound or ErrMethodNotAllowed).
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s: not in the document (%v), yet answered %d: %s", what, err, rec.Code, rec.Body)
		}
		var answer any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			return fmt.Errorf("%s: the refusal is not JSON: %v: %s", what, err, rec.Body)
		}
		failure := contract.doc.Components.Schemas["Failure"].Value
		if err := failure.VisitJSON(answer, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
			return fmt.Errorf("%s: the refusal is not a Failure envelope: %v: %s", what, err, rec.Body)
		}
		return nil
	}
	// The server reads the body as JSON whatever the Content-Type says
	// (curl -d sends a form type); the document declares application/json.
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: contractOptions}
	// Only a request the server took can contradict the document: one it
	// refused may be refused by the document too, or for a rule the
	// document cannot state.
	if rec.Code < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("%s: the document refuses a request the server took (%d): %v\nrequest: %.300s", what, rec.Code, err, body)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                contractOptions,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s: the document does not describe the answer %d %s: %v", what, rec.Code, rec.Body, err)
	}
	return nil
}

// TestOpenAPIDocumentIsValid: the served document is OpenAPI 3.1 and
// valid by kin-openapi's checks of the 3.1 specification's rules.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	loadContract(t)
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(contract.spec, &head); err != nil || head.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q: %v", head.OpenAPI, err)
	}
	if !contract.doc.IsOpenAPI31OrLater() {
		t.Fatalf("kin-openapi does not read %q as OpenAPI 3.1", contract.doc.OpenAPI)
	}
	if err := contract.doc.Validate(context.Background(), append(openAPI31, openapi3.EnableMultiError())...); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	// And by the specification's own JSON Schema, in the variant that also
	// holds every Schema Object to the OpenAPI base dialect: kin-openapi's
	// checks are its authors' reading of the specification, the schema is
	// the specification's own (testdata/openapi-3.1/README.md).
	official := officialOpenAPISchema(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(contract.spec))
	if err != nil {
		t.Fatal(err)
	}
	if err := official.Validate(doc); err != nil {
		t.Fatalf("the document does not match the OpenAPI 3.1 schema: %v", err)
	}
}

// officialOpenAPISchema compiles the OpenAPI Initiative's JSON Schema for
// 3.1 documents (schema-base: the document schema with every Schema Object
// in the base dialect) from the copies in testdata, never from the network.
func officialOpenAPISchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for _, r := range []struct{ id, file string }{
		{"https://spec.openapis.org/oas/3.1/schema/2021-04-15", "schema.json"},
		{"https://spec.openapis.org/oas/3.1/schema-base/2021-04-15", "schema-base.json"},
		{"https://spec.openapis.org/oas/3.1/dialect/base", "dialect-base.schema.json"},
		{"https://spec.openapis.org/oas/3.1/meta/base", "meta-base.schema.json"},
	} {
		f, err := os.Open(filepath.Join("testdata", "openapi-3.1", r.file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", r.file, err)
		}
		if err := c.AddResource(r.id, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://spec.openapis.org/oas/3.1/schema-base/2021-04-15")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOfficialSchemaCatchesABrokenDocument: the specification's schema
// refuses what it must, so a pass above means something.
func TestOfficialSchemaCatchesABrokenDocument(t *testing.T) {
	t.Parallel()
	loadContract(t)
	official := officialOpenAPISchema(t)
	for name, breakIt := range map[string]func(doc map[string]any){
		"no info":               func(doc map[string]any) { delete(doc, "info") },
		"a path not starting /": func(doc map[string]any) { doc["paths"].(map[string]any)["api/x"] = map[string]any{} },
		"a schema type misspelt": func(doc map[string]any) {
			doc["components"].(map[string]any)["schemas"].(map[string]any)["Bad"] = map[string]any{"type": "strnig"}
		},
		"a response without text": func(doc map[string]any) {
			doc["paths"].(map[string]any)["/api/x"] = map[string]any{"get": map[string]any{"responses": map[string]any{"200": map[string]any{}}}}
		},
	} {
		var doc map[string]any
		if err := json.Unmarshal(contract.spec, &doc); err != nil {
			t.Fatal(err)
		}
		breakIt(doc)
		raw, _ := json.Marshal(doc)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if official.Validate(inst) == nil {
			t.Errorf("%s: the OpenAPI 3.1 schema took it", name)
		}
	}
}

// TestOpenAPIHasEveryFunctionAndNothingElse: the document's function
// operations are exactly the functions /api/help lists, each at its own
// path with POST and GET; its other paths are the API's own description
// and liveness check.
func TestOpenAPIHasEveryFunctionAndNothingElse(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t)
	var help struct {
		Functions []struct {
			Name string `json:"name"`
		} `json:"functions"`
	}
	json.Unmarshal(env.do(httptest.NewRequest(http.MethodGet, "/api/help", nil)).Result, &help)
	var listed []string
	for _, fn := range help.Functions {
		listed = append(listed, "/api/"+fn.Name)
	}
	var functions, others []string
	for path, item := range contract.doc.Paths.Map() {
		post, get := item.Post, item.Get
		if post != nil && slices.Contains(post.Tags, "functions") {
			functions = append(functions, path)
			if get == nil || !slices.Contains(get.Tags, "functions") || post.OperationID != strings.TrimPrefix(path, "/api/") {
				t.Errorf("%s: want POST and GET, with the function's name as the POST's operationId", path)
			}
			continue
		}
		others = append(others, path)
	}
	slices.Sort(listed)
	slices.Sort(functions)
	slices.Sort(others)
	if !slices.Equal(functions, listed) {
		t.Errorf("the document's functions %v, /api/help's %v", functions, listed)
	}
	if want := []string{"/api/help", "/api/help/{function}", "/api/openapi.json", "/api/ping"}; !slices.Equal(others, want) {
		t.Errorf("the document's other paths %v, want %v", others, want)
	}
}

// TestContractCatchesDrift: the check fails an answer the document does
// not describe, a request it refuses that the server took, and a path it
// does not have answered as if it did.
func TestContractCatchesDrift(t *testing.T) {
	t.Parallel()
	loadContract(t)
	exchange := func(method, target, body string, status int, answer string) error {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(status)
		rec.WriteString(answer)
		return checkContract(req, []byte(body), rec)
	}
	login := `{"auth": {"username": "alice", "password": "password-alice"}}`
	for _, c := range []struct {
		name, method, target, body string
		status                     int
		answer                     string
		breach                     bool
	}{
		{"as described", "POST", "/api/login", login, 200, `{"success":true,"result":{"username":"alice","memberships":[],"admin":false,"auth":"tk-x","next_cursor":null}}`, false},
		{"a result field missing", "POST", "/api/login", login, 200, `{"success":true,"result":{"username":"alice","memberships":[],"admin":false}}`, true},
		{"a result field too many", "POST", "/api/create_organization", `{"organization_name": "A"}`, 200, `{"success":true,"result":{"organization_id":1,"organization_name":"A","extra":1}}`, true},
		{"a status not listed", "POST", "/api/fetch_memberships", `{}`, 410, `{"success":false,"error":"Gone.","code":"gone"}`, true},
		{"a code not of its status", "POST", "/api/invite_user_to_organization", `{}`, 404, `{"success":false,"error":"No.","code":"conflict"}`, true},
		{"a refused request taken", "POST", "/api/login", `{"auth": {"api_key": "sk-x"}}`, 200, `{"success":true,"result":{"username":"alice","memberships":[],"admin":false,"auth":"tk-x","next_cursor":null}}`, true},
		{"an unknown argument taken", "POST", "/api/fetch_memberships", `{"return_subset": "all", "colour": "red"}`, 200, `{"success":true,"result":{"memberships":[],"admin":false,"next_cursor":null}}`, true},
		{"an unknown path answered", "POST", "/api/invite_everyone", `{}`, 200, `{"success":true}`, true},
		{"an unknown path refused", "POST", "/api/invite_everyone", `{}`, 404, `{"success":false,"error":"No such function.","code":"not_found"}`, false},
		{"an unknown path refused without a Failure", "POST", "/api/invite_everyone", `{}`, 404, `{"success":false,"error":"No such function."}`, true},
		{"a wrong method refused", "DELETE", "/api/login", ``, 405, `{"success":false,"error":"Use GET or POST.","code":"invalid_request"}`, false},
	} {
		err := exchange(c.method, c.target, c.body, c.status, c.answer)
		if (err != nil) != c.breach {
			t.Errorf("%s: breach %v, want %v: %v", c.name, err != nil, c.breach, err)
		}
	}
}

// TestOpenAPIListsArePaged: the document describes every list as the
// server pages it: limit and cursor among the arguments, next_cursor
// (a string, or null on the last page) always in the result.
func TestOpenAPIListsArePaged(t *testing.T) {
	t.Parallel()
	loadContract(t)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(contract.spec, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		paged bool // takes limit and cursor
	}{
		{"FetchMemberships", true},
		{"FetchMembershipsOfOrganization", true},
		{"FetchOrganizationAuditLog", true},
		{"Login", false},
		{"AddUser", false},
	} {
		result := doc.Components.Schemas[c.name+"Result"]
		var next struct {
			Type []string `json:"type"`
		}
		json.Unmarshal(result.Properties["next_cursor"], &next)
		if !slices.Contains(result.Required, "next_cursor") || !slices.Equal(next.Type, []string{"string", "null"}) {
			t.Errorf("%sResult: next_cursor required %v, type %v; want required, string or null", c.name, result.Required, next.Type)
		}
		args := doc.Components.Schemas[c.name+"Arguments"]
		if _, limit := args.Properties["limit"]; c.paged && (!limit || args.Properties["cursor"] == nil) {
			t.Errorf("%sArguments: no limit or cursor among %v", c.name, args.Properties)
		}
	}
}
