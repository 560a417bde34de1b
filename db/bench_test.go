package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

// BenchmarkLogin compares a wrong password with an unknown user at the
// production argon2id cost: the two must take about the same time (compare
// their ns/op in one run), so a caller cannot tell which usernames exist.
// The clock jumps an hour at every reading, so each attempt arrives after
// the login throttle has forgotten the one before and is really checked.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	clk := &clock{now: time.Now()}
	jumpy := func() time.Time { clk.Advance(time.Hour); return clk.Now() }
	d, err := db.Open(ctx, b.TempDir()+"/g.db", db.Options{Now: jumpy})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := d.CreateUser(ctx, "alice", "correct horse", false); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, user, password string }{
		{"right-password", "alice", "correct horse"},
		{"wrong-password", "alice", "wrong horse!"},
		{"unknown-user", "mallory", "wrong horse!"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				d.Authenticate(ctx, guildhall.Credentials{Username: tc.user, Password: tc.password})
			}
		})
	}
}

// BenchmarkInvite measures one invitation through the service: auth by
// API key, authorization and the durable write.
func BenchmarkInvite(b *testing.B) {
	ctx := context.Background()
	d, _ := MustOpenDB(b)
	owner := MustCreateUser(b, d, "olivia")
	org := MustCreateOrg(b, d, owner, "Acme")
	for i := range 2000 {
		if _, err := d.CreateUser(ctx, fmt.Sprintf("u%d", i), "password-u", false); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := d.InviteUser(ctx, owner, org, fmt.Sprintf("u%d", i%2000), guildhall.RoleMember); err != nil && i < 2000 {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMembersPage reads the first page, a middle page and a search of
// an organization with 10,000 members: the organization page's query.
func BenchmarkMembersPage(b *testing.B) {
	ctx := context.Background()
	d, _ := MustOpenDB(b)
	owner := MustCreateUser(b, d, "olivia")
	org := MustCreateOrg(b, d, owner, "Acme")
	if err := d.SeedMembers(ctx, org, 10_000); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		search string
		offset int
	}{{"first", "", 0}, {"middle", "", 5000}, {"search", "member0123", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.ListMembersPage(ctx, owner, org, guildhall.MembersQuery{Search: tc.search, Offset: tc.offset, Limit: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
