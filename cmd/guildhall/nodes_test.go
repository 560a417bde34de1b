package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"guildhall"
	"guildhall/cmd/internal/fixture"
	"guildhall/cmd/internal/serverproc"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// startNodes runs n `guildhall serve` processes on the database at source,
// started at once (so that they migrate a new database together), with
// the extra flags, and returns once all listen.
func startNodes(t *testing.T, source string, n int, flags ...string) []*serverproc.Process {
	t.Helper()
	self, args, env := serveCommand(t, source, flags...)
	env = append(env, sessionKeysEnv+"=") // the nodes share the key kept in the database
	nodes, errs := make([]*serverproc.Process, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { nodes[i], errs[i] = serverproc.Start(context.Background(), self, args, env) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		t.Cleanup(nodes[i].Kill)
	}
	return nodes
}

// nodesTest is two servers on one PostgreSQL database, and a client.
type nodesTest struct {
	t      *testing.T
	nodes  []*serverproc.Process
	client *http.Client
}

// call calls fn on node i with args (auth the API key key, if given) and
// returns the answer's outcome: "ok" or the error code.
func (nt *nodesTest) call(i int, fn, key string, args map[string]any) string {
	nt.t.Helper()
	if key != "" {
		args["auth"] = map[string]string{"api_key": key}
	}
	a, err := fixture.Call(context.Background(), nt.client, nt.nodes[i%len(nt.nodes)].URL, fn, args)
	if err != nil {
		nt.t.Fatalf("%s on node %d: %v", fn, i%len(nt.nodes), err)
	}
	if a.Success {
		return "ok"
	}
	return a.Code
}

// race runs n calls at once, call(i) for each i, and tallies their outcomes.
func race(n int, call func(i int) string) map[string]int {
	outcomes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outcomes[i] = call(i) })
	}
	wg.Wait()
	tally := map[string]int{}
	for _, o := range outcomes {
		tally[o]++
	}
	return tally
}

// TestTwoNodesOnOnePostgresDatabase runs two real servers on one new
// PostgreSQL database (they migrate it together, under the advisory lock)
// and splits racing requests across them: invitations of one user, the
// pending cap, accepts, revocations, removals, the invite rate, a login
// lockout and a browser session each hold as they do on one node.
func TestTwoNodesOnOnePostgresDatabase(t *testing.T) {
	source := dbtest.NewPostgres(t, "")
	const pendingCap, inviteRate = 3, 20
	nt := &nodesTest{t: t, client: &http.Client{Timeout: time.Minute},
		nodes: startNodes(t, source, 2, "--max-pending-invites", strconv.Itoa(pendingCap), "--invite-rate", strconv.Itoa(inviteRate))}
	defer func() {
		if t.Failed() {
			for i, p := range nt.nodes {
				t.Logf("node %d's log:\n%s", i, p.Log())
			}
		}
	}()

	// The people, seeded through the service with cheap password hashes
	// (each hash records its cost, so the servers check them cheaply too).
	ctx := context.Background()
	seed, err := db.Open(ctx, source, db.Options{Argon2: db.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, name := range []string{"olivia", "ann", "lou", "sam", "inv0", "inv1", "inv2", "inv3", "inv4", "inv5", "inv6"} {
		u, err := seed.CreateUser(ctx, name, "password-"+name, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, keys[name], err = seed.CreateAPIKey(ctx, guildhall.Actor{UserID: u.ID, Username: name, Auth: guildhall.AuthPassword}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	seed.Close()

	createOrg := func(owner, name string) int64 {
		t.Helper()
		var org struct {
			ID int64 `json:"organization_id"`
		}
		a, err := fixture.Call(ctx, nt.client, nt.nodes[0].URL, "create_organization",
			map[string]any{"auth": map[string]string{"api_key": keys[owner]}, "organization_name": name})
		if err != nil || !a.Success || json.Unmarshal(a.Result, &org) != nil {
			t.Fatalf("create_organization: %s %v", a.Body, err)
		}
		return org.ID
	}
	orgID := createOrg("olivia", "Race")
	invite := func(node int, who, invitee string) string {
		return nt.call(node, "invite_user_to_organization", keys[who], map[string]any{"username_to_invite": invitee, "organization_id": orgID})
	}
	check := func(what string, got map[string]int, want map[string]int) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}

	// One user invited eight times at once, four times on each node.
	check("inv0 invited 8 times at once", race(8, func(i int) string { return invite(i, "olivia", "inv0") }),
		map[string]int{"ok": 1, "conflict": 7})
	// Six more at once: the organization's cap lets two more in.
	invited := make([]string, 6)
	check("six more invitations, the cap 3", race(6, func(i int) string {
		o := invite(i, "olivia", fmt.Sprintf("inv%d", i+1))
		if o == "ok" {
			invited[i] = fmt.Sprintf("inv%d", i+1)
		}
		return o
	}), map[string]int{"ok": pendingCap - 1, "rate_limited": 6 - (pendingCap - 1)})

	resolve := func(node int, who string, accept bool) string {
		return nt.call(node, "resolve_organization_invitation", keys[who], map[string]any{"organization_id": orgID, "accept": accept})
	}
	// inv0 accepts on both nodes at once: once.
	check("inv0 accepts twice at once", race(2, func(i int) string { return resolve(i, "inv0", true) }),
		map[string]int{"ok": 1, "conflict": 1})
	// An invitee accepts on one node as olivia revokes on the other: one wins.
	var x string
	for _, name := range invited {
		if name != "" {
			x = name
			break
		}
	}
	tally := race(2, func(i int) string {
		if i == 0 {
			return "accept:" + resolve(0, x, true)
		}
		return "revoke:" + nt.call(1, "revoke_organization_invitation", keys["olivia"], map[string]any{"organization_id": orgID, "username": x})
	})
	accepted := tally["accept:ok"] == 1
	if got := fmt.Sprint(tally); got != "map[accept:ok:1 revoke:conflict:1]" && got != "map[accept:not_found:1 revoke:ok:1]" {
		t.Fatalf("%s's accept racing the revocation: %s", x, got)
	}
	// inv0 leaves on one node as olivia removes them on the other: one wins.
	tally = race(2, func(i int) string {
		if i == 0 {
			return "leave:" + nt.call(0, "leave_organization", keys["inv0"], map[string]any{"organization_id": orgID})
		}
		return "remove:" + nt.call(1, "remove_organization_member", keys["olivia"], map[string]any{"organization_id": orgID, "username": "inv0"})
	})
	if got := fmt.Sprint(tally); got != "map[leave:ok:1 remove:not_found:1]" && got != "map[leave:forbidden:1 remove:ok:1]" {
		t.Fatalf("inv0 leaving as olivia removes them: %s", got)
	}

	// What both nodes read now is what the races left.
	want := map[string]string{"olivia": "owner/active"}
	for _, name := range invited {
		if name == x && accepted {
			want[name] = "member/active"
		} else if name != "" && name != x {
			want[name] = "member/pending"
		}
	}
	for i := range nt.nodes {
		a, err := fixture.Call(ctx, nt.client, nt.nodes[i].URL, "fetch_memberships_of_organization",
			map[string]any{"auth": map[string]string{"api_key": keys["olivia"]}, "organization_id": orgID})
		var got struct {
			Memberships []struct {
				Username string `json:"username"`
				Role     string `json:"role"`
				Open     bool   `json:"invite_still_open"`
			} `json:"memberships"`
		}
		if err != nil || json.Unmarshal(a.Result, &got) != nil {
			t.Fatalf("members on node %d: %s %v", i, a.Body, err)
		}
		members := map[string]string{}
		for _, m := range got.Memberships {
			members[m.Username] = m.Role + map[bool]string{true: "/pending", false: "/active"}[m.Open]
		}
		if fmt.Sprint(members) != fmt.Sprint(want) {
			t.Fatalf("members on node %d: %v, want %v", i, members, want)
		}
	}

	// The invite rate is one limit across the nodes: of ann's invitations
	// sent at once, half to each node, inviteRate pass it (and find no
	// such user); the rest are refused. None needs a write, so all are
	// decided well within one interval of the rate.
	annOrg := createOrg("ann", "Rate")
	check("ann's invitations at twice the rate", race(2*inviteRate, func(i int) string {
		return nt.call(i, "invite_user_to_organization", keys["ann"], map[string]any{"username_to_invite": fmt.Sprintf("ghost%d", i), "organization_id": annOrg})
	}), map[string]int{"not_found": inviteRate, "rate_limited": inviteRate})

	// The login throttle: lou's failures on either node count together.
	login := func(node int, password string) fixture.Answer {
		t.Helper()
		a, err := fixture.Call(ctx, nt.client, nt.nodes[node].URL, "login",
			map[string]any{"auth": map[string]string{"username": "lou", "password": password}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for i := range 5 { // the failures that cost nothing, alternating nodes
		if a := login(i%2, "wrong-password"); a.Code != "unauthorized" {
			t.Fatalf("wrong password %d: %d %s", i, a.Status, a.Body)
		}
	}
	for i := range 2 {
		if a := login(i, "password-lou"); a.Code != "rate_limited" {
			t.Fatalf("node %d after five failures on both: %d %s", i, a.Status, a.Body)
		}
	}
	// A lockout takes ten failures, each after a wait that doubles (31 s
	// in all); the test writes the nine-failure state the waits would have
	// built, its backoff over, and makes the tenth failure on one node.
	raw, err := db.OpenRaw(source)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE login_attempts SET failures = 9, last_failure = ?, in_flight = 0 WHERE key = 'user:lou'`,
		time.Now().Add(-time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}
	if a := login(0, "wrong-password"); a.Code != "unauthorized" {
		t.Fatalf("the tenth failure: %d %s", a.Status, a.Body)
	}
	for i := range 2 {
		a := login(i, "password-lou")
		if a.Code != "rate_limited" || !strings.Contains(a.Error, "minutes") {
			t.Fatalf("lou's right password on node %d during the lockout: %d %s", i, a.Status, a.Body)
		}
	}

	// A browser session begun on one node is the other's too, and ends on
	// both when it signs out on either.
	browser, err := fixture.SignIn(ctx, nt.client, nt.nodes[0].URL, "sam", "password-sam")
	if err != nil {
		t.Fatal(err)
	}
	for i := range nt.nodes {
		if got := signedInAs(t, browser, nt.nodes[i].URL); got != "sam" {
			t.Fatalf("node %d: signed in as %q, want sam", i, got)
		}
	}
	resp, err := browser.Get(nt.nodes[1].URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	token, ok := doc.Find(`form[action="/logout"] input[name="csrf_token"]`).Attr("value")
	if err != nil || !ok {
		t.Fatalf("no sign-out form on node 1: %v", err)
	}
	resp, err = browser.PostForm(nt.nodes[1].URL+"/logout", url.Values{"csrf_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i := range nt.nodes {
		if got := signedInAs(t, browser, nt.nodes[i].URL); got != "" {
			t.Fatalf("node %d after signing out on node 1: signed in as %q", i, got)
		}
	}
}
