package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConsoleFunctionsThroughAPI calls each of the console's functions
// through the router: the refusals in the usual envelope with their
// statuses (the database unchanged), then the successes.
func TestConsoleFunctionsThroughAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	e := w.env
	org := w.orgID
	invite := func(who, role string) {
		e.ok("invite_user_to_organization", map[string]any{"auth": w.keyAuth(), "username_to_invite": who, "organization_id": org, "member_class": role})
	}
	invite("bob", "member")
	e.ok("resolve_organization_invitation", map[string]any{"auth": pw("bob"), "organization_id": org, "accept": true})
	invite("carol", "member")

	before := e.snapshot()
	for _, c := range []struct {
		fn     string
		args   map[string]any
		status int
		says   string
	}{
		{"leave_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org}, http.StatusConflict, "transfer ownership"},
		{"leave_organization", map[string]any{"auth": pw("carol"), "organization_id": org}, http.StatusForbidden, "not a member"},
		{"leave_organization", map[string]any{"organization_id": org}, http.StatusUnauthorized, "Authentication required"},
		{"transfer_organization_ownership", map[string]any{"auth": pw("bob"), "organization_id": org, "username": "bob"}, http.StatusForbidden, "Only an owner"},
		{"transfer_organization_ownership", map[string]any{"auth": w.keyAuth(), "organization_id": org, "username": "carol"}, http.StatusConflict, "not accepted"},
		{"transfer_organization_ownership", map[string]any{"auth": w.keyAuth(), "organization_id": org + 9, "username": "bob"}, http.StatusNotFound, "does not exist"},
		{"transfer_organization_ownership", map[string]any{"auth": w.keyAuth(), "organization_id": org}, http.StatusBadRequest, `"username"`},
		{"update_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org}, http.StatusBadRequest, "organization_name"},
		{"update_organization", map[string]any{"auth": pw("bob"), "organization_id": org, "organization_name": "Bob's"}, http.StatusForbidden, "owners and admins"},
		{"update_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org, "organization_name": 7}, http.StatusBadRequest, "a string"},
		{"delete_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org, "confirm_name": "acme"}, http.StatusBadRequest, "type its name"},
		{"delete_organization", map[string]any{"auth": pw("bob"), "organization_id": org, "confirm_name": "Acme"}, http.StatusForbidden, "Only an owner"},
		{"resend_organization_invitation", map[string]any{"auth": pw("bob"), "organization_id": org, "username": "carol"}, http.StatusForbidden, "renew"},
		{"resend_organization_invitation", map[string]any{"auth": w.keyAuth(), "organization_id": org, "username": "bob"}, http.StatusConflict, "already accepted"},
		{"change_password", map[string]any{"auth": pw("bob"), "new_password": "short"}, http.StatusBadRequest, "8 to 256"},
		{"change_password", map[string]any{"auth": map[string]any{"username": "bob", "password": "wrong-password"}, "new_password": "long enough"}, http.StatusUnauthorized, "Invalid"},
		{"decline_all_invitations", map[string]any{"auth": pw("carol"), "confirm": true}, http.StatusBadRequest, `"confirm"`},
	} {
		r := e.call(c.fn, c.args)
		if r.Status != c.status || !strings.Contains(r.Error, c.says) {
			t.Errorf("%s %v: %d %s; want %d saying %q", c.fn, c.args, r.Status, r.Raw, c.status, c.says)
		}
	}
	if e.snapshot() != before {
		t.Fatal("a refused call changed the database")
	}

	// The successes, each as the help and docs describe it.
	e.advance(8 * 24 * time.Hour) // carol's invitation expires; a resend renews it
	if r := e.call("resolve_organization_invitation", map[string]any{"auth": pw("carol"), "organization_id": org, "accept": true}); r.Status != http.StatusGone {
		t.Fatalf("accepting the expired invitation: %d", r.Status)
	}
	e.ok("resend_organization_invitation", map[string]any{"auth": w.keyAuth(), "organization_id": org, "username": "Carol"})
	var declined struct{ Declined int }
	json.Unmarshal(e.ok("decline_all_invitations", map[string]any{"auth": pw("carol")}), &declined)
	if declined.Declined != 1 {
		t.Errorf("decline_all_invitations declined %d, want the renewed one", declined.Declined)
	}
	e.ok("update_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org, "organization_name": "Acme Works", "organization_description": "Anvils."})
	e.ok("transfer_organization_ownership", map[string]any{"auth": w.keyAuth(), "organization_id": org, "username": "bob"})
	e.ok("leave_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org})
	var audit struct {
		Events []struct {
			Action, Target, Role string
			OldRole              string `json:"old_role"`
			OldName              string `json:"old_name"`
		}
	}
	raw := e.ok("fetch_organization_audit_log", map[string]any{"auth": pw("bob"), "organization_id": org})
	if err := json.Unmarshal(raw, &audit); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range audit.Events[:5] {
		got = append(got, strings.Join([]string{ev.Action, ev.Target, ev.Role, ev.OldRole, ev.OldName}, "/"))
	}
	if want := "leave/alice/admin// transfer_ownership/bob/owner/member/ describe_organization/Acme Works/// rename_organization/Acme Works///Acme decline/carol/member//"; strings.Join(got, " ") != want {
		t.Errorf("audit trail:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	e.ok("change_password", map[string]any{"auth": pw("bob"), "new_password": "bob's new password"})
	if r := e.call("login", map[string]any{"auth": pw("bob")}); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password still works: %d", r.Status)
	}
	e.ok("delete_organization", map[string]any{"auth": map[string]any{"username": "bob", "password": "bob's new password"}, "organization_id": org, "confirm_name": "Acme Works"})
	if r := e.call("fetch_memberships_of_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org}); r.Status != http.StatusNotFound {
		t.Errorf("the deleted organization: %d %s", r.Status, r.Raw)
	}
}
