package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/handlers"
)

// cheapArgon2 keeps test logins fast; production uses db.DefaultArgon2.
// The stored PHC string records the parameters, so verification works as
// in production.
var cheapArgon2 = db.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// testOptions are production's options (db.DefaultOptions) with cheap
// password hashes, the given clock, and group commit on, as `guildhall
// serve` runs by default.
func testOptions(now func() time.Time) db.Options {
	o := db.DefaultOptions()
	o.Argon2, o.Now, o.GroupCommit = cheapArgon2, now, true
	return o
}

// apiEnv is a real database file behind the real router.
type apiEnv struct {
	t      testing.TB
	path   string
	store  *db.DB
	server http.Handler // the router, checked against the OpenAPI document (contract_test.go)
	now    time.Time
	mu     sync.Mutex
}

func newAPIEnv(t testing.TB) *apiEnv {
	t.Helper()
	env := &apiEnv{t: t, now: time.Now()}
	env.store, env.path = openStore(t, testOptions(env.clock))
	env.server = checked(t, handlers.New(env.store, handlers.Config{}))
	return env
}

func (e *apiEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
func (e *apiEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// response is a decoded API answer.
type response struct {
	Status  int
	Header  http.Header
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Code    string          `json:"code"`
	Note    string          `json:"note"`
	Raw     string
}

// do sends a request through the router and decodes the envelope, failing
// the test if the answer is not a well-formed envelope.
func (e *apiEnv) do(req *http.Request) response {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.server.ServeHTTP(rec, req)
	r := response{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("%s %s: Content-Type %q, body %s", req.Method, req.URL, ct, r.Raw)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v: %s", req.Method, req.URL, err, r.Raw)
	}
	if r.Success != (r.Status == http.StatusOK) || !r.Success && (r.Error == "" || r.Code == "") {
		e.t.Fatalf("%s %s: malformed envelope with status %d: %s", req.Method, req.URL, r.Status, r.Raw)
	}
	return r
}

// call POSTs a JSON body to /api/<fn>.
func (e *apiEnv) call(fn string, body any) response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(httptest.NewRequest(http.MethodPost, "/api/"+fn, bytes.NewReader(b)))
}

// ok calls fn and fails unless it succeeds; it returns the result.
func (e *apiEnv) ok(fn string, body any) json.RawMessage {
	e.t.Helper()
	r := e.call(fn, body)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s: %d %s", fn, r.Status, r.Raw)
	}
	return r.Result
}

// snapshot dumps every table, to prove a refused request changed nothing.
func (e *apiEnv) snapshot() string {
	e.t.Helper()
	return snapshotOf(e.t, e.path)
}

// snapshotOf dumps every table of the database at path but the sessions'
// bookkeeping (their last use and flash messages), which a page view may
// write: of a session, only which user's it is.
func snapshotOf(t testing.TB, path string) string {
	t.Helper()
	raw, err := db.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var out strings.Builder
	for _, table := range []string{"users", "api_keys", "auth_tokens", "organizations", "memberships", "audit_events", "idempotency_keys", "sessions"} {
		query := "SELECT * FROM " + table + " ORDER BY 1"
		if table == "sessions" {
			query = "SELECT id_hash, user_id FROM sessions ORDER BY 1"
		}
		dumpQuery(t, raw, &out, table, query)
	}
	return out.String()
}

// dumpQuery writes each row query returns to out, after label: its
// columns as text, so a test can look for a string in them.
func dumpQuery(t testing.TB, raw *db.Raw, out *strings.Builder, label, query string) {
	t.Helper()
	rows, err := raw.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		fmt.Fprintln(out, label, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// user creates a user through the service, with the password pw(name) gives.
func (e *apiEnv) user(name string) guildhall.Actor {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), name, "password-"+name, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return guildhall.Actor{UserID: u.ID, Username: u.Username, Auth: guildhall.AuthPassword}
}

// world is the README's story: alice owns Acme and has an API key; bob and
// carol exist. It is seeded through the service: TestSignUpKeyAndOrganization
// takes the same steps through the API.
type world struct {
	env   *apiEnv
	key   string
	token string // alice's sign-in token
	orgID int64
}

func newWorld(t testing.TB) *world {
	env := newAPIEnv(t)
	alice := env.user("alice")
	env.user("bob")
	env.user("carol")
	ctx := context.Background()
	_, key, err := env.store.CreateAPIKey(ctx, alice, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	org, err := env.store.CreateOrganization(ctx, alice, "Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := env.store.CreateToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	return &world{env: env, key: key, token: token, orgID: org.ID}
}

// TestSignUpKeyAndOrganization takes newWorld's steps through the API: sign
// up, log in, make an API key with the password, found an organization with
// the key.
func TestSignUpKeyAndOrganization(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t)
	var signedUp struct {
		Username    string `json:"username"`
		Memberships []any  `json:"memberships"`
		Auth        string `json:"auth"`
	}
	json.Unmarshal(env.ok("add_user", map[string]any{"username": "alice", "password": "password-alice"}), &signedUp)
	if signedUp.Username != "alice" || signedUp.Memberships == nil || len(signedUp.Memberships) != 0 || !strings.HasPrefix(signedUp.Auth, "tk-") {
		t.Fatalf("add_user: %+v", signedUp)
	}
	var key struct {
		APIKey  string `json:"api_key"`
		Title   string `json:"title"`
		Preview string `json:"key_preview"`
	}
	json.Unmarshal(env.ok("create_api_key", map[string]any{"auth": pw("alice"), "title": "laptop"}), &key)
	if !strings.HasPrefix(key.APIKey, "sk-") || key.Title != "laptop" || key.Preview != "sk-..."+key.APIKey[len(key.APIKey)-4:] {
		t.Fatalf("create_api_key: %+v", key)
	}
	var org struct {
		ID   int64  `json:"organization_id"`
		Name string `json:"organization_name"`
	}
	json.Unmarshal(env.ok("create_organization", map[string]any{"auth": map[string]any{"api_key": key.APIKey}, "organization_name": "Acme"}), &org)
	if org.ID <= 0 || org.Name != "Acme" {
		t.Fatalf("create_organization: %+v", org)
	}
	var login struct {
		Username    string           `json:"username"`
		Memberships []map[string]any `json:"memberships"`
	}
	json.Unmarshal(env.ok("login", map[string]any{"auth": pw("alice")}), &login)
	if login.Username != "alice" || len(login.Memberships) != 1 || login.Memberships[0]["role"] != "owner" {
		t.Fatalf("login: %+v", login)
	}
}

// TestCredentialsRefusedByPasswordFunctions: every function /api/help
// marks "password" refuses an API key and a sign-in token, and every one
// marked "password or token" an API key, with the rule's own words, in
// the header and in the body alike, and changes nothing. The lists come
// from the registry, so a new password function is covered the day it is
// added.
func TestCredentialsRefusedByPasswordFunctions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var help struct {
		Functions []struct {
			Name string `json:"name"`
			Auth string `json:"auth"`
		} `json:"functions"`
	}
	json.Unmarshal(w.env.do(httptest.NewRequest(http.MethodGet, "/api/help", nil)).Result, &help)
	// Arguments each password function needs beyond auth.
	extra := map[string]map[string]any{"delete_api_key": {"api_key_id": 1}, "change_password": {"new_password": "a new password"}}
	refuse := func(fn, secret, refusal string) {
		t.Helper()
		args := map[string]any{}
		for k, v := range extra[fn] {
			args[k] = v
		}
		req := httptest.NewRequest(http.MethodPost, "/api/"+fn, bytes.NewReader(must(json.Marshal(args))))
		req.Header.Set("Authorization", "Bearer "+secret)
		if r := w.env.do(req); r.Status != http.StatusForbidden || !strings.HasPrefix(r.Error, refusal) {
			t.Errorf("%s with %s in the header: %d %s", fn, refusal, r.Status, r.Raw)
		}
		for _, auth := range []any{secret, map[string]any{"api_key": secret}, map[string]any{"oauth2": secret}} {
			if m, ok := auth.(map[string]any); ok && (m["api_key"] != nil) != strings.HasPrefix(secret, "sk-") {
				continue // each secret in its own field
			}
			args["auth"] = auth
			if r := w.env.call(fn, args); r.Status != http.StatusForbidden || !strings.HasPrefix(r.Error, refusal) {
				t.Errorf("%s with %s as %v: %d %s", fn, refusal, auth, r.Status, r.Raw)
			}
		}
	}
	var passwordOnly, passwordOrToken []string
	// A first use of the key records it (last_used); the snapshot comes after.
	w.env.ok("fetch_memberships", map[string]any{"auth": w.keyAuth()})
	before := w.env.snapshot()
	for _, fn := range help.Functions {
		switch fn.Auth {
		case "password":
			passwordOnly = append(passwordOnly, fn.Name)
			refuse(fn.Name, w.key, "An API key cannot ")
			refuse(fn.Name, w.token, "A sign-in token cannot ")
		case "password or token":
			passwordOrToken = append(passwordOrToken, fn.Name)
			refuse(fn.Name, w.key, "An API key cannot ")
		}
	}
	if got := strings.Join(passwordOnly, " "); got != "login create_api_key change_password" {
		t.Errorf("functions that need the password itself: %s", got)
	}
	if got := strings.Join(passwordOrToken, " "); got != "fetch_api_keys delete_api_key" {
		t.Errorf("functions that take a password or a token: %s", got)
	}
	if w.env.snapshot() != before {
		t.Fatal("a refused call changed the database")
	}
}

// must returns v, or panics on err (for values a test builds itself).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func pw(name string) map[string]any {
	return map[string]any{"username": name, "password": "password-" + name}
}

func (w *world) keyAuth() map[string]any { return map[string]any{"api_key": w.key} }

// TestSeedExample runs the seed's request exactly: GET with a JSON body,
// as Python's requests.get(url, json=input) and axios {data: input} send it,
// over a real HTTP connection.
func TestSeedExample(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	srv := httptest.NewServer(w.env.server)
	defer srv.Close()
	input := fmt.Sprintf(`{"auth": {"api_key": %q}, "username_to_invite": "bob", "organization_id": %d, "member_class": "member"}`, w.key, w.orgID)
	send := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/invite_user_to_organization", strings.NewReader(input))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	status, out := send()
	if status != 200 || fmt.Sprint(out) != "map[success:true]" {
		t.Fatalf("seed example: %d %v, want 200 {\"success\": true}", status, out)
	}
	status, out = send()
	if status != 409 || out["success"] != false || out["code"] != "conflict" || out["error"] != "bob has already been invited to Acme." {
		t.Fatalf("repeating the seed example: %d %v, want a 409 conflict", status, out)
	}

	// The invitee sees it, accepts, and accepting again is a clear 409.
	var open struct {
		Memberships []map[string]any `json:"memberships"`
	}
	json.Unmarshal(w.env.ok("fetch_memberships", map[string]any{"auth": pw("bob"), "return_subset": "open_invitations"}), &open)
	if len(open.Memberships) != 1 || open.Memberships[0]["organization_name"] != "Acme" ||
		open.Memberships[0]["sender"] != "alice" || open.Memberships[0]["invite_still_open"] != true {
		t.Fatalf("bob's open invitations: %v", open.Memberships)
	}
	w.env.ok("resolve_organization_invitation", map[string]any{"auth": pw("bob"), "organization_id": w.orgID, "accept": true})
	r := w.env.call("resolve_organization_invitation", map[string]any{"auth": pw("bob"), "organization_id": w.orgID, "accept": true})
	if r.Status != 409 || r.Error != "You are already a member of Acme." {
		t.Fatalf("accepting twice: %d %s", r.Status, r.Raw)
	}
}

// TestParametersInQueryAndBearer: arguments as URL-encoded JSON in
// ?parameters=, and the API key in an Authorization header.
func TestParametersInQueryAndBearer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	params := url.QueryEscape(fmt.Sprintf(`{"username_to_invite":"carol","organization_id":%d,"member_class":"viewer"}`, w.orgID))
	req := httptest.NewRequest(http.MethodGet, "/api/invite_user_to_organization?parameters="+params, nil)
	req.Header.Set("Authorization", "Bearer "+w.key)
	if r := w.env.do(req); r.Status != 200 {
		t.Fatalf("?parameters= with Bearer: %d %s", r.Status, r.Raw)
	}
	var members struct {
		Memberships []struct {
			Username string `json:"username"`
			Role     string `json:"role"`
			Open     bool   `json:"invite_still_open"`
		} `json:"memberships"`
	}
	json.Unmarshal(w.env.ok("fetch_memberships_of_organization", map[string]any{"auth": w.keyAuth(), "organization_id": w.orgID}), &members)
	if fmt.Sprint(members.Memberships) != "[{carol viewer true} {alice owner false}]" {
		t.Fatalf("members: %v", members.Memberships)
	}
}

func TestPingAndHelp(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if r := env.do(httptest.NewRequest(method, "/api/ping", nil)); r.Note != "Pong" || !r.Success {
			t.Fatalf("%s /api/ping: %s", method, r.Raw)
		}
	}
	r := env.do(httptest.NewRequest(http.MethodGet, "/api/help", nil))
	var help struct {
		Functions []struct {
			Name       string `json:"name"`
			Parameters []struct {
				Name     string `json:"name"`
				Type     string `json:"type"`
				Required bool   `json:"required"`
			} `json:"parameters"`
		} `json:"functions"`
	}
	json.Unmarshal(r.Result, &help)
	var names []string
	for _, f := range help.Functions {
		names = append(names, f.Name)
	}
	want := "add_user login logout create_api_key fetch_api_keys delete_api_key create_organization invite_user_to_organization invite_users_to_organization resolve_organization_invitation fetch_memberships fetch_memberships_of_organization change_organization_member_role revoke_organization_invitation remove_organization_member fetch_organization_audit_log " +
		"leave_organization transfer_organization_ownership update_organization delete_organization resend_organization_invitation change_password decline_all_invitations function_help"
	if strings.Join(names, " ") != want {
		t.Fatalf("help lists %v", names)
	}
	r = env.do(httptest.NewRequest(http.MethodGet, "/api/help/invite_user_to_organization", nil))
	if !strings.Contains(r.Raw, `"name":"username_to_invite","type":"string","required":true`) ||
		!strings.Contains(r.Raw, `"name":"member_class","type":"string","required":false,"default":"member"`) {
		t.Fatalf("help for invite: %s", r.Raw)
	}
	if r := env.do(httptest.NewRequest(http.MethodGet, "/api/help/nope", nil)); r.Status != 404 || r.Code != "not_found" {
		t.Fatalf("help for an unknown function: %s", r.Raw)
	}
}

// TestErrorClasses sends every kind of bad request through the router and
// checks status, code, a useful message, and that nothing changed.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env
	// A pending invitation for carol, to test resolve/expiry paths.
	env.ok("invite_user_to_organization", map[string]any{"auth": w.keyAuth(), "username_to_invite": "carol", "organization_id": w.orgID})
	key := w.key
	org := w.orgID
	inv := func(extra string) string {
		return fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":%d%s}`, key, org, extra)
	}
	tests := []struct {
		name, method, target, body string
		header                     map[string]string
		status                     int
		code, message              string
	}{
		{"not JSON", "POST", "/api/invite_user_to_organization", `{"auth":`, nil, 400, "invalid_request", "not valid JSON"},
		{"array body", "POST", "/api/invite_user_to_organization", `[1,2]`, nil, 400, "invalid_request", "must be a JSON object"},
		{"string body", "GET", "/api/invite_user_to_organization", `"hello"`, nil, 400, "invalid_request", "must be a JSON object"},
		{"trailing data", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"bob"`) + `{}`, nil, 400, "invalid_request", "data after the JSON object"},
		{"unknown parameter", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"bob","role":"admin"`), nil, 400, "invalid_request", `Unknown parameter "role"`},
		{"wrong case key", "POST", "/api/invite_user_to_organization", inv(`,"Username_To_Invite":"bob"`), nil, 400, "invalid_request", `Unknown parameter "Username_To_Invite"`},
		{"wrong type int", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":true,"username_to_invite":"bob"}`, key), nil, 400, "invalid_request", `"organization_id" must be an integer, not a boolean`},
		{"not a decimal string", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":"1x","username_to_invite":"bob"}`, key), nil, 400, "invalid_request", `"organization_id" must be an integer (or its decimal digits in a string), not "1x"`},
		{"id out of range", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":"0","username_to_invite":"bob"}`, key), nil, 400, "invalid_request", `"organization_id" must be at least 1, not 0`},
		{"float id", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":1.5,"username_to_invite":"bob"}`, key), nil, 400, "invalid_request", `"organization_id" must be a whole number`},
		{"wrong type string", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":7`), nil, 400, "invalid_request", `"username_to_invite" must be a string, not a number`},
		{"wrong type bool", "POST", "/api/resolve_organization_invitation", fmt.Sprintf(`{"auth":{"username":"carol","password":"password-carol"},"organization_id":%d,"accept":"yes"}`, org), nil, 400, "invalid_request", `"accept" must be a boolean, not a string`},
		{"missing parameter", "POST", "/api/invite_user_to_organization", inv(``), nil, 400, "invalid_request", `Missing required parameter "username_to_invite"`},
		{"duplicate key", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"bob","username_to_invite":"carol"`), nil, 400, "invalid_request", "given twice"},
		{"unknown role", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"bob","member_class":"superuser"`), nil, 400, "invalid_request", `Parameter "member_class" must be one of "owner", "admin", "member" or "viewer", not "superuser".`},
		{"unknown subset", "POST", "/api/fetch_memberships", fmt.Sprintf(`{"auth":{"api_key":%q},"return_subset":"some"}`, key), nil, 400, "invalid_request", `Parameter "return_subset" must be one of "accepted", "open_invitations" or "all", not "some".`},
		{"auth not a string or object", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":7,"organization_id":%d,"username_to_invite":"bob"}`, org), nil, 400, "invalid_request", `"auth" must be a sign-in token or an object`},
		{"auth unknown field", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"apikey":%q},"organization_id":%d,"username_to_invite":"bob"}`, key, org), nil, 400, "invalid_request", `Unknown field "apikey" in auth`},
		{"auth both kinds", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":%q,"username":"alice","password":"password-alice"},"organization_id":%d,"username_to_invite":"bob"}`, key, org), nil, 400, "invalid_request", "not more than one"},
		{"bad token", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":"tk-nope","organization_id":%d,"username_to_invite":"bob"}`, org), nil, 401, "unauthorized", "Invalid sign-in token"},
		{"bad oauth2 token", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"oauth2":%q},"organization_id":%d,"username_to_invite":"bob"}`, key, org), nil, 401, "unauthorized", "Invalid sign-in token"},
		{"bad bearer token", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"organization_id":%d,"username_to_invite":"bob"}`, org), map[string]string{"Authorization": "Bearer tk-" + strings.Repeat("x", 48)}, 401, "unauthorized", "Invalid sign-in token"},
		{"key logs out", "POST", "/api/logout", fmt.Sprintf(`{"auth":{"api_key":%q}}`, key), nil, 403, "forbidden", "Log out with the sign-in token"},
		{"bulk over the limit", "POST", "/api/invite_users_to_organization", inv(`,"invitations":[` + strings.Repeat(`{"username_to_invite":"bob"},`, guildhall.MaxBulkInvitations) + `{"username_to_invite":"bob"}]`), nil, 400, "invalid_request", `"invitations" must hold 1 to 100 objects, not 101`},
		{"bulk row unknown field", "POST", "/api/invite_users_to_organization", inv(`,"invitations":[{"username_to_invite":"bob","role":"admin"}]`), nil, 400, "invalid_request", `Unknown field "invitations[0].role"`},
		{"bulk row bad role", "POST", "/api/invite_users_to_organization", inv(`,"invitations":[{"username_to_invite":"bob"},{"username_to_invite":"bob","member_class":"boss"}]`), nil, 400, "invalid_request", `"invitations[1].member_class" must be one of`},
		{"bulk row not an object", "POST", "/api/invite_users_to_organization", inv(`,"invitations":["bob"]`), nil, 400, "invalid_request", `"invitations[0]" must be an object, not a string`},
		{"key on a secret", "POST", "/api/create_api_key", `{"auth":{"username":"alice","password":"password-alice"}}`, map[string]string{"Idempotency-Key": "k1"}, 400, "invalid_request", "create_api_key takes no Idempotency-Key"},
		{"key on a password change", "POST", "/api/change_password", `{"auth":{"username":"alice","password":"password-alice"},"new_password":"a brand new password"}`, map[string]string{"Idempotency-Key": "k1"}, 400, "invalid_request", "change_password takes no Idempotency-Key"},
		{"bad idempotency key", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"bob"`), map[string]string{"Idempotency-Key": "tab\tkey"}, 400, "invalid_request", "Idempotency-Key must be printable"},
		{"both body and query", "POST", "/api/invite_user_to_organization?parameters=%7B%7D", inv(`,"username_to_invite":"bob"`), nil, 400, "invalid_request", "not both"},
		{"unknown query parameter", "GET", "/api/invite_user_to_organization?org=1", inv(`,"username_to_invite":"bob"`), nil, 400, "invalid_request", `Unknown query parameter "org"`},
		{"bad parameters JSON", "GET", "/api/invite_user_to_organization?parameters=%7B", ``, nil, 400, "invalid_request", "?parameters= is not valid JSON"},
		{"no auth", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"organization_id":%d,"username_to_invite":"bob"}`, org), nil, 401, "unauthorized", "Authentication required"},
		{"bad api key", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":"sk-nope"},"organization_id":%d,"username_to_invite":"bob"}`, org), nil, 401, "unauthorized", "Invalid API key"},
		{"bad bearer", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"organization_id":%d,"username_to_invite":"bob"}`, org), map[string]string{"Authorization": "Bearer sk-" + strings.Repeat("x", 48)}, 401, "unauthorized", "Invalid API key"},
		{"wrong password", "POST", "/api/login", `{"auth":{"username":"alice","password":"not-her-password"}}`, nil, 401, "unauthorized", "Invalid username or password"},
		{"unknown user login", "POST", "/api/login", `{"auth":{"username":"mallory","password":"not-her-password"}}`, nil, 401, "unauthorized", "Invalid username or password"},
		{"outsider", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"username":"bob","password":"password-bob"},"organization_id":%d,"username_to_invite":"carol"}`, org), nil, 403, "forbidden", fmt.Sprintf("You are not a member of organization %d.", org)},
		{"pending invitee acts", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"username":"carol","password":"password-carol"},"organization_id":%d,"username_to_invite":"bob","member_class":"viewer"}`, org), nil, 403, "forbidden", fmt.Sprintf("You are not a member of organization %d.", org)},
		{"api key makes key", "POST", "/api/create_api_key", fmt.Sprintf(`{"auth":{"api_key":%q}}`, key), nil, 403, "forbidden", "An API key cannot create API keys"},
		{"api key logs in", "POST", "/api/login", fmt.Sprintf(`{"auth":{"api_key":%q}}`, key), nil, 403, "forbidden", "An API key cannot log in"},
		{"unknown function", "POST", "/api/invite_everyone", `{}`, nil, 404, "not_found", `no API function named "invite_everyone"`},
		{"unknown invitee", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"mallory"`), nil, 404, "not_found", `There is no user named "mallory"`},
		{"unknown organization", "POST", "/api/invite_user_to_organization", fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":999,"username_to_invite":"bob"}`, key), nil, 404, "not_found", "Organization 999 does not exist"},
		{"already invited", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"carol"`), nil, 409, "conflict", "carol has already been invited to Acme"},
		{"already a member", "POST", "/api/invite_user_to_organization", inv(`,"username_to_invite":"alice"`), nil, 409, "conflict", "alice is already a member of Acme"},
		{"username taken", "POST", "/api/add_user", `{"username":"alice","password":"another-password"}`, nil, 409, "conflict", `The username "alice" is taken`},
		{"bad username", "POST", "/api/add_user", `{"username":"Alice Smith","password":"another-password"}`, nil, 400, "invalid_request", "Username may contain only"},
		{"short password", "POST", "/api/add_user", `{"username":"dave","password":"short"}`, nil, 400, "invalid_request", "Password must be 8 to 256"},
		{"too large", "POST", "/api/add_user", `{"username":"dave","password":"` + strings.Repeat("x", handlers.MaxBodyBytes) + `"}`, nil, 413, "payload_too_large", "larger than 1048576 bytes"},
		{"wrong method", "DELETE", "/api/invite_user_to_organization", ``, nil, 405, "invalid_request", "use GET or POST"},
	}
	before := env.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.t = t
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			r := env.do(req)
			if r.Status != tt.status || r.Code != tt.code || !strings.Contains(r.Error, tt.message) {
				t.Fatalf("got %d %s, want %d %s containing %q", r.Status, r.Raw, tt.status, tt.code, tt.message)
			}
			if after := env.snapshot(); after != before {
				t.Fatalf("the database changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestExpiredInvitationIsGone: accepting after the TTL is a 410.
func TestExpiredInvitationIsGone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env.ok("invite_user_to_organization", map[string]any{"auth": w.keyAuth(), "username_to_invite": "bob", "organization_id": w.orgID})
	w.env.advance(guildhall.DefaultInviteTTL + time.Minute)
	before := w.env.snapshot()
	r := w.env.call("resolve_organization_invitation", map[string]any{"auth": pw("bob"), "organization_id": w.orgID, "accept": true})
	if r.Status != 410 || r.Code != "gone" || !strings.Contains(r.Error, "expired") {
		t.Fatalf("accepting an expired invitation: %d %s", r.Status, r.Raw)
	}
	if w.env.snapshot() != before {
		t.Fatal("a refused accept changed the database")
	}
	// It no longer blocks a fresh invitation.
	w.env.ok("invite_user_to_organization", map[string]any{"auth": w.keyAuth(), "username_to_invite": "bob", "organization_id": w.orgID})
}

// failingService answers one operation with an error that carries SQL and
// driver text, to prove that such text never reaches a client.
type failingService struct{ handlers.Service }

func (failingService) InviteUser(context.Context, guildhall.Actor, int64, string, guildhall.Role) (guildhall.Membership, error) {
	return guildhall.Membership{}, errors.New(`insert: near "INSRT": syntax error (SQLITE_ERROR) at db/organizations.go:80`)
}

func (failingService) ListMemberships(context.Context, guildhall.Actor, guildhall.MembershipsQuery) (guildhall.MembershipsPage, error) {
	panic("index out of range [3] with length 3")
}

func TestInternalErrorsRevealNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var logs bytes.Buffer
	srv := checked(t, handlers.New(failingService{w.env.store}, handlers.Config{Logger: slogTo(&logs)}))
	for _, fn := range []string{"invite_user_to_organization", "fetch_memberships"} {
		body := fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":%d,"username_to_invite":"bob"}`, w.key, w.orgID)
		if fn == "fetch_memberships" {
			body = fmt.Sprintf(`{"auth":{"api_key":%q}}`, w.key)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/"+fn, strings.NewReader(body)))
		got := rec.Body.String()
		if rec.Code != 500 || strings.TrimSpace(got) != `{"success":false,"error":"Internal error.","code":"internal"}` {
			t.Fatalf("%s: %d %s", fn, rec.Code, got)
		}
		id := rec.Header().Get("X-Request-Id")
		if id == "" || !strings.Contains(logs.String(), id) {
			t.Fatalf("%s: the log does not carry the request id %q: %s", fn, id, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "INSRT") || !strings.Contains(logs.String(), "index out of range") {
		t.Fatalf("the details belong in the log: %s", logs.String())
	}
}

// TestRacingInvitesThroughAPI: many parallel requests for one invitee give
// exactly one 200 and 409s; for distinct invitees, all 200. Never a 5xx.
func TestRacingInvitesThroughAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	srv := httptest.NewServer(w.env.server)
	defer srv.Close()
	const n = 40
	for i := range n {
		w.env.user(fmt.Sprintf("racer%d", i))
	}
	post := func(invitee string) int {
		body := fmt.Sprintf(`{"auth":{"api_key":%q},"organization_id":%d,"username_to_invite":%q}`, w.key, w.orgID, invitee)
		resp, err := http.Post(srv.URL+"/api/invite_user_to_organization", "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = post("racer0") })
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[409] != n-1 {
		t.Fatalf("duplicate invites: statuses %v, want one 200 and %d 409s", count, n-1)
	}
	for i := 1; i < n; i++ {
		wg.Go(func() { statuses[i] = post(fmt.Sprintf("racer%d", i)) })
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if statuses[i] != 200 {
			t.Errorf("invite racer%d: status %d", i, statuses[i])
		}
	}
}

// slogTo logs as text into w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
