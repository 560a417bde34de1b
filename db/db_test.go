package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// clock is a settable time source for expiring invitations.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// MustOpenDB opens a fresh database (a file in a temporary directory, or a
// new PostgreSQL database on a PostgreSQL run: see dbtest), with a
// settable clock.
func MustOpenDB(tb testing.TB) (*db.DB, *clock) {
	tb.Helper()
	d, clk, _ := MustOpenDBWith(tb, db.Options{})
	return d, clk
}

// MustOpenDBWith is MustOpenDB with opts. Where opts leave them unset, the
// clock is the settable one, invitations last 7 days and passwords are
// hashed at db.CheapArgon2. It returns the database's source (a file path
// or a URL) too, for reading it beside the service or opening it again.
// The database starts as a copy of one migrated once per test binary
// (dbtest.NewMigrated): the migrations themselves are tested from older
// schemas (migrations_test.go).
func MustOpenDBWith(tb testing.TB, opts db.Options) (*db.DB, *clock, string) {
	tb.Helper()
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.InviteTTL == 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	source := dbtest.NewMigrated(tb)
	return MustOpenDBFile(tb, source, opts), clk, source
}

// MustOpenDBFile opens the database at source (a file path or a URL),
// hashing passwords at db.CheapArgon2 unless opts say otherwise, and closes
// it when the test ends.
func MustOpenDBFile(tb testing.TB, source string, opts db.Options) *db.DB {
	tb.Helper()
	if opts.Argon2 == (db.Argon2Params{}) {
		opts.Argon2 = db.CheapArgon2
	}
	d, err := db.Open(context.Background(), source, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// MustCreateUser signs up a user and returns them as an actor who has
// given their password (guildhall.AuthPassword), as add_user's caller has.
func MustCreateUser(tb testing.TB, d *db.DB, name string) guildhall.Actor {
	tb.Helper()
	u, err := d.CreateUser(context.Background(), name, "password-"+name, false)
	if err != nil {
		tb.Fatalf("create user %s: %v", name, err)
	}
	return guildhall.Actor{UserID: u.ID, Username: u.Username, Auth: guildhall.AuthPassword}
}

// MustCreateOrg founds an organization owned by owner.
func MustCreateOrg(tb testing.TB, d *db.DB, owner guildhall.Actor, name string) int64 {
	tb.Helper()
	org, err := d.CreateOrganization(context.Background(), owner, name, "")
	if err != nil {
		tb.Fatalf("create organization: %v", err)
	}
	return org.ID
}

// MustJoin invites user into org with role (sent by the owner) and, unless
// pending is set, accepts.
func MustJoin(tb testing.TB, d *db.DB, owner guildhall.Actor, org int64, user guildhall.Actor, role guildhall.Role, pending bool) {
	tb.Helper()
	ctx := context.Background()
	if _, err := d.InviteUser(ctx, owner, org, user.Username, role); err != nil {
		tb.Fatalf("invite %s as %s: %v", user.Username, role, err)
	}
	if !pending {
		if err := d.ResolveInvitation(ctx, user, org, true); err != nil {
			tb.Fatalf("accept %s: %v", user.Username, err)
		}
	}
}

// wantCode fails the test unless err carries the code want ("" for nil).
func wantCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := guildhall.ErrorCode(err); got != want {
		tb.Fatalf("error %v: code %q, want %q", err, got, want)
	}
}

// memberRoles returns username → "role/status" for an organization.
func memberRoles(tb testing.TB, d *db.DB, owner guildhall.Actor, org int64) map[string]string {
	tb.Helper()
	ms, err := d.FetchOrganizationMembers(context.Background(), owner, org)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.Username] = string(m.Role) + "/" + string(m.Status)
	}
	return out
}

// TestInvitePermissionMatrix runs every actor state against every offered
// role through the service, and checks the database after each refusal.
// The cases share one database, each in an organization of its own.
func TestInvitePermissionMatrix(t *testing.T) {
	allowed := map[string][]guildhall.Role{
		"owner":  {"owner", "admin", "member", "viewer"},
		"admin":  {"member", "viewer"},
		"member": {"viewer"},
	}
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	MustCreateUser(t, d, "bob")
	actors := map[string]guildhall.Actor{"owner": owner}
	for _, state := range []string{"admin", "member", "viewer", "pending", "outsider"} {
		actors[state] = MustCreateUser(t, d, state)
	}
	for _, state := range []string{"owner", "admin", "member", "viewer", "pending", "outsider"} {
		for _, role := range guildhall.Roles {
			t.Run(state+"/"+string(role), func(t *testing.T) {
				org := MustCreateOrg(t, d, owner, state+"/"+string(role))
				actor := actors[state]
				switch state {
				case "owner", "outsider":
				case "pending":
					MustJoin(t, d, owner, org, actor, guildhall.RoleAdmin, true)
				default:
					MustJoin(t, d, owner, org, actor, guildhall.Role(state), false)
				}
				before := memberRoles(t, d, owner, org)

				_, err := d.InviteUser(ctx, actor, org, "bob", role)
				if ok := containsRole(allowed[state], role); ok {
					wantCode(t, err, "")
					if got := memberRoles(t, d, owner, org)["bob"]; got != string(role)+"/pending" {
						t.Fatalf("bob is %q after the invitation, want %s/pending", got, role)
					}
					return
				}
				wantCode(t, err, guildhall.EFORBIDDEN)
				if after := memberRoles(t, d, owner, org); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("a refused invitation changed the members: %v -> %v", before, after)
				}
			})
		}
	}
}

func containsRole(rs []guildhall.Role, r guildhall.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func TestInviteErrors(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	bob := MustCreateUser(t, d, "bob")
	org := MustCreateOrg(t, d, owner, "Acme")

	_, err := d.InviteUser(ctx, owner, org, "nobody", guildhall.RoleMember)
	wantCode(t, err, guildhall.ENOTFOUND)
	_, err = d.InviteUser(ctx, owner, org+100, "bob", guildhall.RoleMember)
	wantCode(t, err, guildhall.ENOTFOUND)
	_, err = d.InviteUser(ctx, owner, org, "bob", "superuser")
	wantCode(t, err, guildhall.EINVALID)

	if _, err := d.InviteUser(ctx, owner, org, "bob", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	_, err = d.InviteUser(ctx, owner, org, "bob", guildhall.RoleViewer)
	wantCode(t, err, guildhall.ECONFLICT)
	if !strings.Contains(guildhall.ErrorMessage(err), "already been invited") {
		t.Errorf("message %q should say bob was already invited", guildhall.ErrorMessage(err))
	}
	if err := d.ResolveInvitation(ctx, bob, org, true); err != nil {
		t.Fatal(err)
	}
	_, err = d.InviteUser(ctx, owner, org, "bob", guildhall.RoleMember)
	wantCode(t, err, guildhall.ECONFLICT)
	if !strings.Contains(guildhall.ErrorMessage(err), "already a member") {
		t.Errorf("message %q should say bob is already a member", guildhall.ErrorMessage(err))
	}
	// The owner inviting themself is a conflict too: they are a member.
	_, err = d.InviteUser(ctx, owner, org, "olivia", guildhall.RoleMember)
	wantCode(t, err, guildhall.ECONFLICT)
}

func TestInvitationExpiry(t *testing.T) {
	ctx := context.Background()
	d, clk := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	bob := MustCreateUser(t, d, "bob")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustJoin(t, d, owner, org, bob, guildhall.RoleMember, true)

	clk.Advance(7*24*time.Hour + time.Second)
	wantCode(t, d.ResolveInvitation(ctx, bob, org, true), guildhall.EGONE)
	open, err := d.FetchMemberships(ctx, bob, guildhall.SubsetOpenInvitations)
	if err != nil || len(open) != 0 {
		t.Fatalf("expired invitation still listed as open: %v %v", open, err)
	}
	// An expired invitation does not block a new one, which can be accepted.
	if _, err := d.InviteUser(ctx, owner, org, "bob", guildhall.RoleViewer); err != nil {
		t.Fatalf("re-inviting after expiry: %v", err)
	}
	if err := d.ResolveInvitation(ctx, bob, org, true); err != nil {
		t.Fatalf("accepting the new invitation: %v", err)
	}
	if got := memberRoles(t, d, owner, org)["bob"]; got != "viewer/active" {
		t.Fatalf("bob is %q, want viewer/active", got)
	}
}

func TestResolveInvitation(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	bob := MustCreateUser(t, d, "bob")
	carol := MustCreateUser(t, d, "carol")
	org := MustCreateOrg(t, d, owner, "Acme")

	wantCode(t, d.ResolveInvitation(ctx, bob, org, true), guildhall.ENOTFOUND)   // no invitation
	wantCode(t, d.ResolveInvitation(ctx, bob, org+9, true), guildhall.ENOTFOUND) // no organization

	MustJoin(t, d, owner, org, bob, guildhall.RoleMember, true)
	MustJoin(t, d, owner, org, carol, guildhall.RoleMember, true)
	// A pending invitee cannot act for the organization yet.
	_, err := d.FetchOrganizationMembers(ctx, bob, org)
	wantCode(t, err, guildhall.EFORBIDDEN)

	if err := d.ResolveInvitation(ctx, bob, org, true); err != nil {
		t.Fatal(err)
	}
	wantCode(t, d.ResolveInvitation(ctx, bob, org, true), guildhall.ECONFLICT)  // twice
	wantCode(t, d.ResolveInvitation(ctx, bob, org, false), guildhall.ECONFLICT) // decline after accepting

	if err := d.ResolveInvitation(ctx, carol, org, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, d.ResolveInvitation(ctx, carol, org, false), guildhall.ENOTFOUND)
	if _, ok := memberRoles(t, d, owner, org)["carol"]; ok {
		t.Fatal("a declined invitation is still listed")
	}
}

func TestRevokeInvitation(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	admin := MustCreateUser(t, d, "adam")
	member := MustCreateUser(t, d, "mia")
	bob := MustCreateUser(t, d, "bob")
	carol := MustCreateUser(t, d, "carol")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustJoin(t, d, owner, org, admin, guildhall.RoleAdmin, false)
	MustJoin(t, d, owner, org, member, guildhall.RoleMember, false)

	// Owner invites bob as admin: the admin could not have granted that, so can't revoke.
	MustJoin(t, d, owner, org, bob, guildhall.RoleAdmin, true)
	wantCode(t, d.RevokeInvitation(ctx, admin, org, "bob"), guildhall.EFORBIDDEN)
	// The member invites carol as viewer: the sender may revoke, and so may the admin.
	if _, err := d.InviteUser(ctx, member, org, "carol", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeInvitation(ctx, member, org, "carol"); err != nil {
		t.Fatalf("sender revoking: %v", err)
	}
	wantCode(t, d.RevokeInvitation(ctx, member, org, "carol"), guildhall.ENOTFOUND)
	if _, err := d.InviteUser(ctx, member, org, "carol", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeInvitation(ctx, admin, org, "carol"); err != nil {
		t.Fatalf("admin revoking a viewer invitation: %v", err)
	}
	if err := d.RevokeInvitation(ctx, owner, org, "bob"); err != nil {
		t.Fatalf("owner revoking: %v", err)
	}
	// Revoking an accepted membership is a conflict: remove them instead.
	wantCode(t, d.RevokeInvitation(ctx, owner, org, "mia"), guildhall.ECONFLICT)
	// The invitee can no longer accept.
	wantCode(t, d.ResolveInvitation(ctx, bob, org, true), guildhall.ENOTFOUND)
	_ = carol
}

func TestChangeRoleAndRemove(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	admin := MustCreateUser(t, d, "adam")
	member := MustCreateUser(t, d, "mia")
	viewer := MustCreateUser(t, d, "vic")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustJoin(t, d, owner, org, admin, guildhall.RoleAdmin, false)
	MustJoin(t, d, owner, org, member, guildhall.RoleMember, false)
	MustJoin(t, d, owner, org, viewer, guildhall.RoleViewer, false)

	wantCode(t, d.ChangeMemberRole(ctx, admin, org, "adam", guildhall.RoleMember), guildhall.EFORBIDDEN)   // own role
	wantCode(t, d.ChangeMemberRole(ctx, admin, org, "mia", guildhall.RoleAdmin), guildhall.EFORBIDDEN)     // can't grant admin
	wantCode(t, d.ChangeMemberRole(ctx, admin, org, "olivia", guildhall.RoleMember), guildhall.EFORBIDDEN) // above
	wantCode(t, d.ChangeMemberRole(ctx, member, org, "vic", guildhall.RoleMember), guildhall.EFORBIDDEN)   // member can't grant member
	wantCode(t, d.ChangeMemberRole(ctx, admin, org, "nobody", guildhall.RoleViewer), guildhall.ENOTFOUND)
	wantCode(t, d.ChangeMemberRole(ctx, admin, org, "mia", "boss"), guildhall.EINVALID)
	if err := d.ChangeMemberRole(ctx, admin, org, "mia", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	// The last owner can be neither demoted nor removed, not even by themself.
	wantCode(t, d.ChangeMemberRole(ctx, owner, org, "olivia", guildhall.RoleAdmin), guildhall.EFORBIDDEN)
	wantCode(t, d.RemoveMember(ctx, owner, org, "olivia"), guildhall.ECONFLICT)
	if err := d.ChangeMemberRole(ctx, owner, org, "adam", guildhall.RoleOwner); err != nil {
		t.Fatal(err)
	}
	// With two owners, one can demote the other and then leave is refused again.
	if err := d.ChangeMemberRole(ctx, admin, org, "olivia", guildhall.RoleMember); err != nil {
		t.Fatalf("a second owner demoting the first: %v", err)
	}
	wantCode(t, d.RemoveMember(ctx, admin, org, "adam"), guildhall.ECONFLICT)

	// Removal: ranked below only; anyone may leave.
	wantCode(t, d.RemoveMember(ctx, viewer, org, "mia"), guildhall.EFORBIDDEN)
	if err := d.RemoveMember(ctx, viewer, org, "vic"); err != nil {
		t.Fatalf("leaving: %v", err)
	}
	if err := d.RemoveMember(ctx, admin, org, "mia"); err != nil {
		t.Fatal(err)
	}
	got := memberRoles(t, d, admin, org)
	if want := "map[adam:owner/active olivia:member/active]"; fmt.Sprint(got) != want {
		t.Fatalf("members %v, want %s", got, want)
	}
	// A removed member no longer acts for the organization.
	_, err := d.InviteUser(ctx, viewer, org, "mia", guildhall.RoleViewer)
	wantCode(t, err, guildhall.EFORBIDDEN)

	events, err := d.AuditLog(ctx, admin, org, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Actor+":"+e.Action+":"+e.Target+":"+string(e.Role))
	}
	want := []string{
		"adam:remove:mia:viewer", "vic:leave:vic:viewer", "adam:change_role:olivia:member",
		"olivia:change_role:adam:owner", "adam:change_role:mia:viewer",
	}
	if fmt.Sprint(actions[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("audit log starts %v, want %v", actions[:len(want)], want)
	}
	// Only owners and admins read it.
	_, err = d.AuditLog(ctx, owner, org, 0) // olivia is a member now
	wantCode(t, err, guildhall.EFORBIDDEN)
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	alice := MustCreateUser(t, d, "alice")

	_, err := d.CreateUser(ctx, "alice", "another-password", false)
	wantCode(t, err, guildhall.ECONFLICT)
	_, err = d.CreateUser(ctx, "Alice", "another-password", false)
	wantCode(t, err, guildhall.EINVALID)
	_, err = d.CreateUser(ctx, "carl", "short", false)
	wantCode(t, err, guildhall.EINVALID)

	a, err := d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: "password-alice"})
	if err != nil || a.UserID != alice.UserID || a.Auth != guildhall.AuthPassword {
		t.Fatalf("password login: %+v %v", a, err)
	}
	_, wrong := d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: "wrong-password"})
	_, unknown := d.Authenticate(ctx, guildhall.Credentials{Username: "nobody", Password: "wrong-password"})
	wantCode(t, wrong, guildhall.EUNAUTHORIZED)
	if guildhall.ErrorMessage(wrong) != guildhall.ErrorMessage(unknown) || guildhall.ErrorCode(unknown) != guildhall.EUNAUTHORIZED {
		t.Fatalf("wrong password %q and unknown user %q must read the same", wrong, unknown)
	}

	key, secret, err := d.CreateAPIKey(ctx, a, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 51 || !strings.HasPrefix(secret, "sk-") || key.Preview != "sk-..."+secret[47:] {
		t.Fatalf("key %q preview %q", secret, key.Preview)
	}
	viaKey, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: secret})
	if err != nil || viaKey.UserID != alice.UserID || viaKey.Auth != guildhall.AuthAPIKey {
		t.Fatalf("api key login: %+v %v", viaKey, err)
	}
	// An API key cannot manage API keys, nor log in.
	_, _, err = d.CreateAPIKey(ctx, viaKey, "")
	wantCode(t, err, guildhall.EFORBIDDEN)
	_, err = d.ListAPIKeys(ctx, viaKey)
	wantCode(t, err, guildhall.EFORBIDDEN)
	wantCode(t, d.DeleteAPIKey(ctx, viaKey, key.ID), guildhall.EFORBIDDEN)
	_, err = d.LoginMemberships(ctx, viaKey)
	wantCode(t, err, guildhall.EFORBIDDEN)

	keys, err := d.ListAPIKeys(ctx, a)
	if err != nil || len(keys) != 1 || keys[0].LastUsed.IsZero() {
		t.Fatalf("keys %+v %v; the key was used, so last_used must be set", keys, err)
	}
	wantCode(t, d.DeleteAPIKey(ctx, a, key.ID+1), guildhall.ENOTFOUND)
	if err := d.DeleteAPIKey(ctx, a, key.ID); err != nil {
		t.Fatal(err)
	}
	_, err = d.Authenticate(ctx, guildhall.Credentials{APIKey: secret})
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	_, err = d.Authenticate(ctx, guildhall.Credentials{APIKey: "sk-" + strings.Repeat("A", 48)})
	wantCode(t, err, guildhall.EUNAUTHORIZED)
}

// TestDefaultPasswordHash checks the production parameters end to end:
// argon2id at OWASP's m=19 MiB, t=2, p=1, in a PHC string.
func TestDefaultPasswordHash(t *testing.T) {
	ctx := context.Background()
	path := dbtest.NewSource(t)
	d, err := db.Open(ctx, path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.CreateUser(ctx, "alice", "correct horse", false); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := queryRow(t, path, `SELECT password_hash FROM users`, &hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash %q is not argon2id with OWASP's parameters", hash)
	}
	if _, err := d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentInvites: racing invitations of one user give exactly one
// success; invitations of different users all succeed, never SQLITE_BUSY.
func TestConcurrentInvites(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	const n = 16
	for i := range n {
		MustCreateUser(t, d, fmt.Sprintf("user%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = d.InviteUser(ctx, owner, org, "user0", guildhall.RoleMember) })
	}
	wg.Wait()
	codes := map[string]int{}
	for _, err := range errs {
		codes[guildhall.ErrorCode(err)]++
	}
	if codes[""] != 1 || codes[guildhall.ECONFLICT] != n-1 {
		t.Fatalf("racing duplicate invites: %v, want 1 success and %d conflicts", codes, n-1)
	}
	for i := 1; i < n; i++ {
		wg.Go(func() { _, errs[i] = d.InviteUser(ctx, owner, org, fmt.Sprintf("user%d", i), guildhall.RoleMember) })
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if errs[i] != nil {
			t.Errorf("invite user%d: %v", i, errs[i])
		}
	}
	if got := len(memberRoles(t, d, owner, org)); got != n+1 {
		t.Fatalf("%d members and invitations, want %d", got, n+1)
	}
}

func TestOpenChecksPragmasAndMigrates(t *testing.T) {
	dbtest.SQLiteOnly(t, "pragmas and sqlite_schema")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	d, err := db.Open(ctx, path, db.Options{Argon2: db.CheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	// Reopening applies nothing new and keeps the data file valid.
	d, err = db.Open(ctx, path, db.Options{Argon2: db.CheapArgon2})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	d.Close()
	var mode string
	if err := queryRow(t, path, `PRAGMA journal_mode`, &mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q %v, want wal", mode, err)
	}
	var tables int
	if err := queryRow(t, path, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('users','api_keys','organizations','memberships','audit_events')`, &tables); err != nil || tables != 5 {
		t.Fatalf("%d of 5 tables present (%v)", tables, err)
	}
}

// queryRow reads one row straight from the database at source, beside the
// service.
func queryRow(tb testing.TB, source, query string, dest ...any) error {
	tb.Helper()
	raw, err := db.OpenRaw(source)
	if err != nil {
		return err
	}
	defer raw.Close()
	return raw.QueryRow(query).Scan(dest...)
}

// TestOpenRefusesWrongJournalMode: an in-memory database cannot be in WAL
// mode, and start-up must say so rather than run without it.
func TestOpenRefusesWrongJournalMode(t *testing.T) {
	dbtest.SQLiteOnly(t, "journal mode")
	_, err := db.Open(context.Background(), ":memory:", db.Options{Argon2: db.CheapArgon2})
	if err == nil || !strings.Contains(err.Error(), `pragma journal_mode is "memory", want "wal"`) {
		t.Fatalf("opening :memory: gave %v, want a journal_mode error", err)
	}
}

// guessAtOnce sends n wrong passwords for alice at once, dealt round nodes
// (the servers of one database), and fails unless the throttle let
// exactly its free failures reach the password check and refused the rest.
func guessAtOnce(t *testing.T, n int, nodes ...*db.DB) {
	t.Helper()
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := nodes[i%len(nodes)].Authenticate(context.Background(),
				guildhall.Credentials{Username: "alice", Password: "guess-number-" + fmt.Sprint(i), ClientAddr: "192.0.2.7"})
			codes[i] = guildhall.ErrorCode(err)
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[guildhall.EUNAUTHORIZED] != 5 || count[guildhall.ERATELIMITED] != n-5 {
		t.Fatalf("%d concurrent guesses on %d node(s): %v, want 5 checked (401) and the rest refused (429)", n, len(nodes), count)
	}
}

// TestThrottleHoldsUnderConcurrentGuesses: wrong passwords sent all at once
// are counted as they start, so no more of them reach the password check
// than the throttle lets through one by one.
func TestThrottleHoldsUnderConcurrentGuesses(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	MustCreateUser(t, d, "alice")
	guessAtOnce(t, 60, d)
	// A right password is refused too while the username must wait.
	_, err := d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: "password-alice", ClientAddr: "192.0.2.8"})
	wantCode(t, err, guildhall.ERATELIMITED)
}

// TestAPIKeyChecksAreRemembered: a key checked in the database is believed
// for a second (db's keyCacheTTL) without reading it again; revoked through
// this service it stops at once, and revoked behind its back (another
// server on the same database, here a raw DELETE) within that second.
func TestAPIKeyChecksAreRemembered(t *testing.T) {
	ctx := context.Background()
	d, clk, path := MustOpenDBWith(t, db.Options{})
	alice := MustCreateUser(t, d, "alice")
	_, secret, err := d.CreateAPIKey(ctx, alice, "one")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := d.CreateAPIKey(ctx, alice, "two")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, other} {
		if _, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: s}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := db.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM api_keys WHERE title = 'two'`); err != nil {
		t.Fatal(err)
	}
	if a, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: other}); err != nil || a.UserID != alice.UserID || a.Auth != guildhall.AuthAPIKey {
		t.Fatalf("within the second the key was checked: %+v %v", a, err)
	}
	clk.Advance(time.Second)
	_, err = d.Authenticate(ctx, guildhall.Credentials{APIKey: other})
	wantCode(t, err, guildhall.EUNAUTHORIZED)

	keys, err := d.ListAPIKeys(ctx, alice)
	if err != nil || len(keys) != 1 {
		t.Fatal(keys, err)
	}
	if _, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: secret}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteAPIKey(ctx, alice, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = d.Authenticate(ctx, guildhall.Credentials{APIKey: secret})
	wantCode(t, err, guildhall.EUNAUTHORIZED)
}

// TestAPIKeyRevokedInAnIdempotentWrite: delete_api_key sent with an
// Idempotency-Key revokes inside the transaction that stores its answer,
// which commits after the revocation's own savepoint. A lookup of the key
// between the two (another request's, here made from inside the run, with
// and without group commit) still finds the key committed, and must not
// be remembered past the commit: once the revocation is answered, the key
// is refused.
func TestAPIKeyRevokedInAnIdempotentWrite(t *testing.T) {
	ctx := context.Background()
	for _, groupCommit := range []bool{false, true} {
		d, _, _ := MustOpenDBWith(t, db.Options{GroupCommit: groupCommit})
		alice := MustCreateUser(t, d, "alice")
		k, secret, err := d.CreateAPIKey(ctx, alice, "one")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: secret}); err != nil {
			t.Fatal(err) // checked, and its use recorded: the lookups below only read
		}
		call := guildhall.IdempotentCall{UserID: alice.UserID, Key: "revoke", Fingerprint: []byte("delete_api_key")}
		_, _, err = d.Idempotent(ctx, call, idemLease, func(ctx context.Context) (guildhall.Answer, error) {
			if err := d.DeleteAPIKey(ctx, alice, k.ID); err != nil {
				return guildhall.Answer{}, err
			}
			if a, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: secret}); err != nil || a.UserID != alice.UserID {
				t.Errorf("group commit %v: before the revocation commits, the key is still good: %+v %v", groupCommit, a, err)
			}
			return guildhall.Answer{Status: 200, Body: []byte("{}")}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Authenticate(ctx, guildhall.Credentials{APIKey: secret})
		wantCode(t, err, guildhall.EUNAUTHORIZED)
	}
}

// TestOutsidersLearnNoName: every refusal to a caller who is not an
// active member names the organization by the id they sent, never by its
// name: a non-member learns nothing beyond what they sent.
func TestOutsidersLearnNoName(t *testing.T) {
	d, _ := MustOpenDB(t)
	ctx := context.Background()
	olivia, bob, carol := MustCreateUser(t, d, "olivia"), MustCreateUser(t, d, "bob"), MustCreateUser(t, d, "carol")
	MustCreateUser(t, d, "dave")
	org := MustCreateOrg(t, d, olivia, "Secret Skunkworks")
	MustJoin(t, d, olivia, org, bob, guildhall.RoleMember, false)
	MustJoin(t, d, olivia, org, carol, guildhall.RoleMember, true) // carol is invited, not a member
	id := strconv.FormatInt(org, 10)
	name, desc := "Renamed", ""
	for _, outsider := range []guildhall.Actor{MustCreateUser(t, d, "mallory"), carol} {
		calls := map[string]func() error{
			"Organization": func() error { _, _, err := d.Organization(ctx, outsider, org); return err },
			"OrganizationPage": func() error {
				_, err := d.OrganizationPage(ctx, outsider, org, guildhall.MembersQuery{}, 20)
				return err
			},
			"ListMembersPage":          func() error { _, err := d.ListMembersPage(ctx, outsider, org, guildhall.MembersQuery{}); return err },
			"FetchOrganizationMembers": func() error { _, err := d.FetchOrganizationMembers(ctx, outsider, org); return err },
			"ListAuditLog":             func() error { _, err := d.ListAuditLog(ctx, outsider, org, guildhall.AuditQuery{}); return err },
			"UpdateOrganization":       func() error { _, err := d.UpdateOrganization(ctx, outsider, org, &name, &desc); return err },
			"DeleteOrganization":       func() error { return d.DeleteOrganization(ctx, outsider, org, "Secret Skunkworks") },
			"TransferOwnership":        func() error { return d.TransferOwnership(ctx, outsider, org, "bob") },
			"InviteUser":               func() error { _, err := d.InviteUser(ctx, outsider, org, "dave", guildhall.RoleViewer); return err },
			"RevokeInvitation":         func() error { return d.RevokeInvitation(ctx, outsider, org, "carol") },
			"ResendInvitation":         func() error { _, err := d.ResendInvitation(ctx, outsider, org, "carol"); return err },
			"ChangeMemberRole":         func() error { return d.ChangeMemberRole(ctx, outsider, org, "bob", guildhall.RoleViewer) },
			"RemoveMember":             func() error { return d.RemoveMember(ctx, outsider, org, "bob") },
			"LeaveOrganization":        func() error { return d.LeaveOrganization(ctx, outsider, org) },
		}
		if outsider.Username == "mallory" {
			calls["ResolveInvitation accept"] = func() error { return d.ResolveInvitation(ctx, outsider, org, true) }
			calls["ResolveInvitation decline"] = func() error { return d.ResolveInvitation(ctx, outsider, org, false) }
			calls["OpenInvitation"] = func() error { _, err := d.OpenInvitation(ctx, outsider, org); return err }
		}
		for what, call := range calls {
			err := call()
			msg := guildhall.ErrorMessage(err)
			if err == nil || strings.Contains(msg, "Skunkworks") || !strings.Contains(msg, "organization "+id) {
				t.Errorf("%s by %s: %v", what, outsider.Username, err)
			}
		}
	}
}

// TestWriteWithEndedContext: a write whose request ended before its
// transaction could begin (a client that hung up while it waited) is
// refused as unavailable and writes nothing; it does not bring the
// server down.
func TestWriteWithEndedContext(t *testing.T) {
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "owner")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.CreateOrganization(ctx, owner, "acme", "")
	wantCode(t, err, guildhall.EUNAVAILABLE)
	if _, err := d.CreateOrganization(context.Background(), owner, "acme", ""); err != nil {
		t.Fatalf("the name is still free after the ended write: %v", err)
	}
}
