package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

// listAnswer is a page of a list as the API answers it.
type listAnswer struct {
	Memberships []struct {
		Username        string `json:"username"`
		Role            string `json:"role"`
		InviteStillOpen bool   `json:"invite_still_open"`
	} `json:"memberships"`
	Events     []struct{ ID int64 } `json:"events"`
	NextCursor *string              `json:"next_cursor"`
	Total      *int                 `json:"total"`
	Limit      *int                 `json:"limit"`
	Offset     *int                 `json:"offset"`
}

// page calls a list function and decodes its page; the raw result too,
// to see which fields it carries.
func (w *world) page(t *testing.T, fn string, args map[string]any) (listAnswer, map[string]json.RawMessage) {
	t.Helper()
	args["auth"] = w.keyAuth()
	r := w.env.call(fn, args)
	if r.Status != http.StatusOK {
		t.Fatalf("%s %v: %d %s", fn, args, r.Status, r.Raw)
	}
	var a listAnswer
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.Result, &a); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(r.Result, &fields)
	return a, fields
}

// TestListsThroughAPI: the member list, a user's memberships and the
// audit trail come a page at a time, limit rows from the cursor of the page
// before, with next_cursor null on the last page. Called with the
// organization alone, fetch_memberships_of_organization answers its first
// page only. Filters by status and role and the orders reach the service;
// a bad limit, cursor or filter is a 400 that names what was wrong.
func TestListsThroughAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	alice := guildhall.Actor{UserID: 1, Username: "alice"}
	invitees := guildhall.ListDefaultLimit + 1
	for i := range invitees {
		name := fmt.Sprintf("user%03d", i)
		w.env.user(name)
		if i == invitees-1 {
			w.env.advance(time.Second) // the last is the most recent
		}
		if _, err := w.env.store.InviteUser(ctx, alice, w.orgID, name, guildhall.RoleViewer); err != nil {
			t.Fatal(err)
		}
	}
	rows := invitees + 1 // and alice, the owner
	org := func(extra map[string]any) map[string]any {
		args := map[string]any{"organization_id": w.orgID}
		for k, v := range extra {
			args[k] = v
		}
		return args
	}

	// The organization alone: the first page, and a cursor to the rest.
	first, fields := w.page(t, "fetch_memberships_of_organization", org(nil))
	if len(first.Memberships) != guildhall.ListDefaultLimit || first.NextCursor == nil || first.Memberships[0].Username != "user000" {
		t.Fatalf("the first page: %d rows, next %v", len(first.Memberships), first.NextCursor)
	}
	if _, ok := fields["total"]; ok {
		t.Error("the answer to the organization alone carries total, as it did not before")
	}
	rest, _ := w.page(t, "fetch_memberships_of_organization", org(map[string]any{"cursor": *first.NextCursor}))
	if len(rest.Memberships) != rows-guildhall.ListDefaultLimit || rest.NextCursor != nil || rest.Total == nil || *rest.Total != rows || rest.Offset != nil ||
		rest.Memberships[len(rest.Memberships)-1].Username != "alice" {
		t.Fatalf("the rest: %+v", rest)
	}

	// limit and offset; filters and orders.
	for _, c := range []struct {
		args  map[string]any
		names string
		total int
	}{
		{map[string]any{"limit": 2, "offset": 3}, "user003,user004", rows},
		{map[string]any{"status": "active"}, "alice", 1},
		{map[string]any{"status": "invited", "limit": 1, "sort": "name"}, "user000", invitees},
		{map[string]any{"role": "owner"}, "alice", 1},
		{map[string]any{"search": "user10", "sort": "name"}, "user100", 1},
		{map[string]any{"status": "expired"}, "", 0},
		{map[string]any{"sort": "joined", "limit": 1}, "user100", rows},
	} {
		a, _ := w.page(t, "fetch_memberships_of_organization", org(c.args))
		var names []string
		for _, m := range a.Memberships {
			names = append(names, m.Username)
		}
		if strings.Join(names, ",") != c.names || a.Total == nil || *a.Total != c.total {
			t.Errorf("%v: %v (total %v), want %s (%d)", c.args, names, a.Total, c.names, c.total)
		}
	}

	// The audit trail: 102 events, 50 a page.
	var ids []int64
	args := map[string]any{"organization_id": w.orgID, "limit": 50}
	for {
		a, _ := w.page(t, "fetch_organization_audit_log", args)
		for _, e := range a.Events {
			ids = append(ids, e.ID)
		}
		if a.NextCursor == nil {
			break
		}
		args["cursor"] = *a.NextCursor
	}
	if len(ids) != rows || ids[0] <= ids[len(ids)-1] {
		t.Fatalf("the audit trail: %d events, newest %d, oldest %d", len(ids), ids[0], ids[len(ids)-1])
	}

	// A user's memberships, a page at a time.
	for _, name := range []string{"Beta", "Gamma"} {
		o, err := w.env.store.CreateOrganization(ctx, alice, name, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.env.store.InviteUser(ctx, alice, o.ID, "bob", guildhall.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	bob := map[string]any{"username": "bob", "password": "password-bob"}
	r := w.env.call("fetch_memberships", map[string]any{"auth": bob, "return_subset": "all", "limit": 1})
	var mine listAnswer
	json.Unmarshal(r.Result, &mine)
	if r.Status != http.StatusOK || len(mine.Memberships) != 1 || mine.NextCursor == nil {
		t.Fatalf("bob's first membership: %s", r.Raw)
	}
	r = w.env.call("fetch_memberships", map[string]any{"auth": bob, "return_subset": "all", "cursor": *mine.NextCursor})
	json.Unmarshal(r.Result, &mine)
	if r.Status != http.StatusOK || len(mine.Memberships) != 1 || mine.NextCursor != nil || !mine.Memberships[0].InviteStillOpen {
		t.Fatalf("bob's second membership: %s", r.Raw)
	}
	r = w.env.call("login", map[string]any{"auth": bob})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Result), `"next_cursor":null`) || strings.Count(string(r.Result), "organization_id") != 2 {
		t.Fatalf("login: %s", r.Raw)
	}

	// Refusals name what was wrong.
	cursor := *first.NextCursor
	for _, c := range []struct {
		fn   string
		args map[string]any
		want string
	}{
		{"fetch_memberships_of_organization", org(map[string]any{"limit": guildhall.ListMaxLimit + 1}), `Parameter "limit" must be 0 to 1000`},
		{"fetch_memberships_of_organization", org(map[string]any{"cursor": "nonsense"}), "This cursor is not one the server gave"},
		{"fetch_memberships_of_organization", org(map[string]any{"cursor": cursor, "role": "viewer"}), "This cursor belongs to another list"},
		{"fetch_memberships_of_organization", org(map[string]any{"cursor": cursor, "offset": 1}), "Give a cursor or an offset, not both."},
		{"fetch_memberships_of_organization", org(map[string]any{"status": "pending"}), `Parameter "status"`},
		{"fetch_memberships_of_organization", org(map[string]any{"role": "boss"}), `Parameter "role"`},
		{"fetch_memberships_of_organization", org(map[string]any{"sort": "age"}), `Parameter "sort"`},
		{"fetch_memberships", map[string]any{"cursor": cursor}, "This cursor belongs to another list"},
		{"fetch_memberships", map[string]any{"limit": -1}, `Parameter "limit" must be 0 to 1000`},
		{"fetch_organization_audit_log", org(map[string]any{"cursor": cursor}), "This cursor belongs to another list"},
	} {
		c.args["auth"] = w.keyAuth()
		if r := w.env.call(c.fn, c.args); r.Status != http.StatusBadRequest || !strings.Contains(r.Error, c.want) {
			t.Errorf("%s %v: %d %s, want 400 with %q", c.fn, c.args, r.Status, r.Raw, c.want)
		}
	}
}

// TestSignInReadsOnWithItsToken: login answers a QueryLake client with
// both what it expects (auth, a sign-in token) and the paging the lists
// have: the first page of the user's memberships and the cursor of the
// rest, which fetch_memberships reads on with, under the token login gave.
func TestSignInReadsOnWithItsToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// alice owns Acme; she becomes a member of enough organizations for a
	// second page, seeded in two statements.
	raw, err := db.OpenRaw(w.env.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO organizations (name, created) SELECT 'Org ' || (100 + i), 1 FROM n`, guildhall.ListDefaultLimit),
		`INSERT INTO memberships (organization_id, user_id, username, role, status, created, accepted)
			SELECT id, 1, 'alice', 'member', 'active', 2, 2 FROM organizations WHERE name LIKE 'Org %'`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}

	var login struct {
		Auth        string `json:"auth"`
		Memberships []struct {
			OrganizationName string `json:"organization_name"`
		} `json:"memberships"`
		NextCursor *string `json:"next_cursor"`
	}
	json.Unmarshal(w.env.ok("login", map[string]any{"auth": pw("alice")}), &login)
	if !strings.HasPrefix(login.Auth, guildhall.TokenPrefix) || len(login.Memberships) != guildhall.ListDefaultLimit || login.NextCursor == nil ||
		login.Memberships[0].OrganizationName != "Acme" {
		t.Fatalf("login: token %q, %d memberships, next_cursor %v", login.Auth, len(login.Memberships), login.NextCursor)
	}
	var rest listAnswer
	json.Unmarshal(w.env.ok("fetch_memberships", map[string]any{"auth": login.Auth, "return_subset": "all", "cursor": *login.NextCursor}), &rest)
	if len(rest.Memberships) != 1 || rest.NextCursor != nil {
		t.Fatalf("the rest, under the token: %d memberships, next_cursor %v", len(rest.Memberships), rest.NextCursor)
	}
}
