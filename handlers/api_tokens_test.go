package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestQueryLakeClientSignIn: login hands out a token that works in the
// three forms QueryLake's clients send it, until logout ends it.
func TestQueryLakeClientSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var login struct {
		Username string `json:"username"`
		Auth     string `json:"auth"`
	}
	json.Unmarshal(w.env.ok("login", map[string]any{"auth": pw("alice")}), &login)
	if login.Username != "alice" || !strings.HasPrefix(login.Auth, "tk-") {
		t.Fatalf("login: %+v", login)
	}
	token := login.Auth
	// The web app's bare string, the SDK's {"oauth2": ...}, and the header.
	for _, auth := range []any{token, map[string]any{"oauth2": token}} {
		w.env.ok("fetch_memberships", map[string]any{"auth": auth, "return_subset": "all"})
	}
	req := httptest.NewRequest(http.MethodPost, "/api/fetch_memberships", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	if r := w.env.do(req); r.Status != http.StatusOK {
		t.Fatalf("Bearer token: %d %s", r.Status, r.Raw)
	}
	// A token does what a password does, except what needs the password itself.
	w.env.ok("fetch_api_keys", map[string]any{"auth": token})
	var org struct {
		ID int64 `json:"organization_id"`
	}
	json.Unmarshal(w.env.ok("create_organization", map[string]any{"auth": token, "organization_name": "Tokened"}), &org)
	w.env.ok("invite_user_to_organization", map[string]any{"auth": token, "organization_id": fmt.Sprint(org.ID), "username_to_invite": "bob"})
	if r := w.env.call("create_api_key", map[string]any{"auth": token}); r.Status != http.StatusForbidden || !strings.HasPrefix(r.Error, "A sign-in token cannot create API keys") {
		t.Fatalf("a token creating a key: %d %s", r.Status, r.Raw)
	}

	// add_user hands out a token too.
	var signUp struct {
		Auth string `json:"auth"`
	}
	json.Unmarshal(w.env.ok("add_user", map[string]any{"username": "dora", "password": "password-dora"}), &signUp)
	w.env.ok("fetch_memberships", map[string]any{"auth": map[string]any{"oauth2": signUp.Auth}})

	// logout ends the token it is called with, and no other.
	req = httptest.NewRequest(http.MethodPost, "/api/logout", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if r := w.env.do(req); r.Status != http.StatusOK {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	if r := w.env.call("fetch_memberships", map[string]any{"auth": token}); r.Status != http.StatusUnauthorized {
		t.Fatalf("a token after logout: %d %s", r.Status, r.Raw)
	}
	w.env.ok("fetch_memberships", map[string]any{"auth": w.token})

	// The token expires.
	w.env.advance(7*24*time.Hour + time.Second)
	if r := w.env.call("fetch_memberships", map[string]any{"auth": w.token}); r.Status != http.StatusUnauthorized || !strings.Contains(r.Error, "expired") {
		t.Fatalf("an expired token: %d %s", r.Status, r.Raw)
	}
}

// TestChangePasswordEndsTokens: a sign-in token may not change the
// password; once the password changes, through the API, every token of
// the user stops working in every form it is sent in, while API keys and
// others' tokens go on.
func TestChangePasswordEndsTokens(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var login struct {
		Auth string `json:"auth"`
	}
	json.Unmarshal(w.env.ok("login", map[string]any{"auth": pw("alice")}), &login)
	var bobs struct {
		Auth string `json:"auth"`
	}
	json.Unmarshal(w.env.ok("login", map[string]any{"auth": pw("bob")}), &bobs)
	change := map[string]any{"auth": login.Auth, "new_password": "a brand new password"}
	before := w.env.snapshot()
	if r := w.env.call("change_password", change); r.Status != http.StatusForbidden || !strings.HasPrefix(r.Error, "A sign-in token cannot change the password") {
		t.Fatalf("a token changing the password: %d %s", r.Status, r.Raw)
	}
	if w.env.snapshot() != before {
		t.Fatal("a refused change changed the database")
	}

	change["auth"] = pw("alice")
	w.env.ok("change_password", change)
	for _, token := range []string{login.Auth, w.token} {
		for _, auth := range []any{token, map[string]any{"oauth2": token}} {
			if r := w.env.call("fetch_memberships", map[string]any{"auth": auth}); r.Status != http.StatusUnauthorized || !strings.Contains(r.Error, "Invalid sign-in token") {
				t.Errorf("token as %v after the change: %d %s", auth, r.Status, r.Raw)
			}
		}
		req := httptest.NewRequest(http.MethodPost, "/api/fetch_memberships", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+token)
		if r := w.env.do(req); r.Status != http.StatusUnauthorized {
			t.Errorf("Bearer token after the change: %d %s", r.Status, r.Raw)
		}
	}
	w.env.ok("fetch_memberships", map[string]any{"auth": w.keyAuth()})
	w.env.ok("fetch_memberships", map[string]any{"auth": bobs.Auth})
	// The new password signs in, and hands out a token that works.
	json.Unmarshal(w.env.ok("login", map[string]any{"auth": map[string]any{"username": "alice", "password": "a brand new password"}}), &login)
	w.env.ok("fetch_memberships", map[string]any{"auth": login.Auth})
}

// TestFunctionHelp: function_help lists every function in QueryLake's
// format, from the registry.
func TestFunctionHelp(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t)
	type arg struct {
		Keyword  string `json:"keyword"`
		TypeHint string `json:"type_hint"`
		Default  string `json:"default"`
	}
	var specs []struct {
		Endpoint      string `json:"endpoint"`
		APIFunctionID string `json:"api_function_id"`
		FunctionName  string `json:"function_name"`
		Description   string `json:"description"`
		FunctionArgs  []arg  `json:"function_args"`
	}
	if err := json.Unmarshal(env.ok("function_help", map[string]any{}), &specs); err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, s := range specs {
		byName[s.APIFunctionID] = i
		if s.Endpoint != "/api/"+s.APIFunctionID || s.FunctionName != s.APIFunctionID || s.Description == "" {
			t.Errorf("spec %+v", s)
		}
	}
	invite := specs[byName["invite_user_to_organization"]]
	if got := fmt.Sprint(invite.FunctionArgs); got != "[{auth QUERYLAKE_AUTH } {username_to_invite str } {organization_id int } {member_class str 'member'}]" {
		t.Errorf("invite_user_to_organization's arguments: %s", got)
	}
	bulk := specs[byName["invite_users_to_organization"]]
	if got := fmt.Sprint(bulk.FunctionArgs[2:]); got != "[{invitations List[dict] } {all_or_nothing bool False}]" {
		t.Errorf("invite_users_to_organization's arguments: %s", got)
	}
	if len(specs) != len(byName) || len(specs) < 24 || len(specs[byName["add_user"]].FunctionArgs) != 2 {
		t.Errorf("%d specs: %v", len(specs), byName)
	}
}

// TestRevokedKeyStopsAtOnce: the server believes an API key it checked
// for a second without checking again, but a key revoked through this
// server stops at once, however the revocation is sent: with a sign-in
// token, or with a token and an Idempotency-Key (the revocation then
// commits with the stored answer). With the password it is
// TestAPIKeyChecksAreRemembered's case, in db.
func TestRevokedKeyStopsAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, c := range []struct {
		name string
		auth any
		key  string // the Idempotency-Key, if any
	}{
		{"token", w.token, ""},
		{"token with an Idempotency-Key", w.token, "revoke-laptop-2"},
	} {
		var k struct {
			ID     int64  `json:"id"`
			APIKey string `json:"api_key"`
		}
		json.Unmarshal(w.env.ok("create_api_key", map[string]any{"auth": pw("alice"), "title": c.name}), &k)
		w.env.ok("fetch_memberships", map[string]any{"auth": map[string]any{"api_key": k.APIKey}}) // checked, so believed for a second
		revoke := map[string]any{"auth": c.auth, "api_key_id": k.ID}
		if c.key == "" {
			w.env.ok("delete_api_key", revoke)
		} else if r := w.env.do(keyed("delete_api_key", c.key, revoke)); r.Status != http.StatusOK {
			t.Fatalf("%s: revoking: %d %s", c.name, r.Status, r.Raw)
		}
		if r := w.env.call("fetch_memberships", map[string]any{"auth": map[string]any{"api_key": k.APIKey}}); r.Status != http.StatusUnauthorized || r.Error != "Invalid API key." {
			t.Errorf("%s: the revoked key: %d %s", c.name, r.Status, r.Raw)
		}
	}
	w.env.ok("fetch_memberships", map[string]any{"auth": w.keyAuth()}) // the others' keys stay
}
