package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"guildhall"
	"guildhall/db"
	"guildhall/handlers"
)

// keyed is a POST of body to /api/<fn> with an Idempotency-Key.
func keyed(fn, key string, body any) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/api/"+fn, bytes.NewReader(must(json.Marshal(body))))
	req.Header.Set("Idempotency-Key", key)
	return req
}

// organizations counts the organizations alice belongs to.
func (w *world) organizations(t *testing.T) int {
	t.Helper()
	var r struct {
		Memberships []any `json:"memberships"`
	}
	json.Unmarshal(w.env.ok("fetch_memberships", map[string]any{"auth": w.keyAuth()}), &r)
	return len(r.Memberships)
}

// TestIdempotencyKey: a write with a key runs once; a retry gets the same
// answer marked replayed, whichever form its arguments and credentials
// take; other arguments are a 422; a refusal is replayed too; the key is
// the caller's own; a read ignores it.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	create := map[string]any{"auth": w.keyAuth(), "organization_name": "Once"}
	first := w.env.do(keyed("create_organization", "create-once", create))
	if first.Status != http.StatusOK || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s %v", first.Status, first.Raw, first.Header)
	}
	// The retry authenticates otherwise (a token, in the header): still the same request.
	retry := keyed("create_organization", "create-once", map[string]any{"organization_name": "Once", "organization_description": ""})
	retry.Header.Set("Authorization", "Bearer "+w.token)
	again := w.env.do(retry)
	if again.Status != http.StatusOK || again.Raw != first.Raw || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s %v", again.Status, again.Raw, again.Header)
	}
	if n := w.organizations(t); n != 2 {
		t.Fatalf("%d organizations, want Acme and Once", n)
	}
	before := w.env.snapshot()
	other := w.env.do(keyed("create_organization", "create-once", map[string]any{"auth": w.keyAuth(), "organization_name": "Twice"}))
	if other.Status != 422 || other.Code != "idempotency_mismatch" || w.env.snapshot() != before {
		t.Fatalf("other arguments: %d %s", other.Status, other.Raw)
	}
	// The same key on another function is other arguments too.
	if r := w.env.do(keyed("invite_user_to_organization", "create-once", map[string]any{"auth": w.keyAuth(), "organization_id": w.orgID, "username_to_invite": "bob"})); r.Status != 422 {
		t.Fatalf("the key on another function: %d %s", r.Status, r.Raw)
	}

	// A refusal is the answer: the retry gets it even once it would succeed.
	invite := map[string]any{"auth": w.keyAuth(), "organization_id": w.orgID, "username_to_invite": "dora"}
	refused := w.env.do(keyed("invite_user_to_organization", "invite-dora", invite))
	if refused.Status != http.StatusNotFound {
		t.Fatalf("inviting nobody: %d %s", refused.Status, refused.Raw)
	}
	w.env.user("dora")
	invite["organization_id"] = fmt.Sprint(w.orgID) // "12" is 12
	if r := w.env.do(keyed("invite_user_to_organization", "invite-dora", invite)); r.Status != http.StatusNotFound || r.Raw != refused.Raw || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retrying the refusal: %d %s", r.Status, r.Raw)
	}

	// Bob's key of the same name is his own.
	if r := w.env.do(keyed("create_organization", "create-once", map[string]any{"auth": pw("bob"), "organization_name": "Once"})); r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("bob's key: %d %s", r.Status, r.Raw)
	}
	// A read ignores the key.
	for range 2 {
		if r := w.env.do(keyed("fetch_memberships", "read", map[string]any{"auth": w.keyAuth()})); r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("a read with a key: %d %s", r.Status, r.Raw)
		}
	}
}

// heldService is the real service whose CreateOrganization waits, once
// entered, until the test releases it.
type heldService struct {
	*db.DB
	entered chan struct{}
	release chan struct{}
}

func (h *heldService) CreateOrganization(ctx context.Context, a guildhall.Actor, name, description string) (guildhall.Organization, error) {
	h.entered <- struct{}{}
	<-h.release
	return h.DB.CreateOrganization(ctx, a, name, description)
}

// TestIdempotencyRetryWhileRunning: a retry while the first request runs
// is a 409 with Retry-After, answered at once; once the first is done,
// the retry gets its answer.
func TestIdempotencyRetryWhileRunning(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	held := &heldService{DB: w.env.store, entered: make(chan struct{}), release: make(chan struct{})}
	h := checked(t, handlers.New(held, handlers.Config{}))
	body := map[string]any{"auth": w.keyAuth(), "organization_name": "Slow"}
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, keyed("create_organization", "slow", body))
		first <- rec
	}()
	<-held.entered
	rec := serve(t, h, keyed("create_organization", "slow", body))
	if rec.Code != http.StatusConflict || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("retry while running: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	close(held.release)
	done := <-first
	if done.Code != http.StatusOK {
		t.Fatalf("the first request: %d %s", done.Code, done.Body)
	}
	rec = serve(t, h, keyed("create_organization", "slow", body))
	if rec.Code != http.StatusOK || rec.Body.String() != done.Body.String() || rec.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after: %d %s", rec.Code, rec.Body)
	}
}

// TestConcurrentIdempotentRetries: many copies of one keyed write at once
// create one organization; every success carries its id, one of them
// ran, and the rest are replays or told to wait.
func TestConcurrentIdempotentRetries(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	srv := httptest.NewServer(w.env.server)
	defer srv.Close()
	const n = 16
	body := must(json.Marshal(map[string]any{"auth": w.keyAuth(), "organization_name": "Racing"}))
	type outcome struct {
		status   int
		replayed bool
		body     string
	}
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/create_organization", bytes.NewReader(body))
			req.Header.Set("Idempotency-Key", "racing")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			outcomes[i] = outcome{resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", string(b)}
		})
	}
	wg.Wait()
	ran, answer := 0, ""
	for _, o := range outcomes {
		switch {
		case o.status == http.StatusOK && !o.replayed:
			ran++
			answer = o.body
		case o.status == http.StatusOK || o.status == http.StatusConflict:
		default:
			t.Errorf("answer %d %s", o.status, o.body)
		}
	}
	for _, o := range outcomes {
		if o.status == http.StatusOK && o.body != answer {
			t.Errorf("a replay %s differs from the answer %s", o.body, answer)
		}
	}
	if ran != 1 || w.organizations(t) != 2 {
		t.Fatalf("%d ran, %d organizations; want one run and Acme beside it", ran, w.organizations(t))
	}
}

// TestInviteUsersThroughAPI: the bulk invitation answers a row per
// invitation, in order, and all_or_nothing writes nothing unless all go.
func TestInviteUsersThroughAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env.user("dora")
	rows := []map[string]any{
		{"username_to_invite": "bob"}, {"username_to_invite": "nobody", "member_class": "viewer"},
		{"username_to_invite": "carol", "member_class": "admin"}, {"username_to_invite": "bob"},
	}
	before := w.env.snapshot()
	held := w.env.ok("invite_users_to_organization", map[string]any{"auth": w.token, "organization_id": fmt.Sprint(w.orgID), "invitations": rows, "all_or_nothing": true})
	want := `{"invited":0,"results":[{"username_to_invite":"bob","success":false,"error":"Not invited: all_or_nothing is set and another row was refused."},` +
		`{"username_to_invite":"nobody","success":false,"error":"There is no user named \"nobody\".","code":"not_found"},` +
		`{"username_to_invite":"carol","success":false,"error":"Not invited: all_or_nothing is set and another row was refused."},` +
		`{"username_to_invite":"bob","success":false,"error":"bob has already been invited to Acme.","code":"conflict"}]}`
	if string(held) != want || w.env.snapshot() != before {
		t.Fatalf("all or nothing:\n%s\nwant\n%s", held, want)
	}
	got := w.env.ok("invite_users_to_organization", map[string]any{"auth": w.keyAuth(), "organization_id": w.orgID, "invitations": rows})
	want = `{"invited":2,"results":[{"username_to_invite":"bob","success":true},` +
		`{"username_to_invite":"nobody","success":false,"error":"There is no user named \"nobody\".","code":"not_found"},` +
		`{"username_to_invite":"carol","success":true},` +
		`{"username_to_invite":"bob","success":false,"error":"bob has already been invited to Acme.","code":"conflict"}]}`
	if string(got) != want {
		t.Fatalf("rows:\n%s\nwant\n%s", got, want)
	}
	var members struct {
		Memberships []struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"memberships"`
	}
	json.Unmarshal(w.env.ok("fetch_memberships_of_organization", map[string]any{"auth": w.keyAuth(), "organization_id": w.orgID}), &members)
	if fmt.Sprint(members.Memberships) != "[{carol admin} {bob member} {alice owner}]" {
		t.Fatalf("members: %v", members.Memberships)
	}
}

// TestConsoleWritesAreIdempotent: the console's writes take an
// Idempotency-Key like every write. A retry of decline_all_invitations
// gets the first count again and declines nothing more, though a new
// invitation has come in meanwhile; a new key declines it.
func TestConsoleWritesAreIdempotent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	invite := func(org int64) {
		w.env.ok("invite_user_to_organization", map[string]any{"auth": w.keyAuth(), "organization_id": org, "username_to_invite": "bob"})
	}
	invite(w.orgID)
	decline := map[string]any{"auth": pw("bob")}
	first := w.env.do(keyed("decline_all_invitations", "decline-1", decline))
	if first.Status != http.StatusOK || string(first.Result) != `{"declined":1}` {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	var org struct {
		ID int64 `json:"organization_id"`
	}
	json.Unmarshal(w.env.ok("create_organization", map[string]any{"auth": w.keyAuth(), "organization_name": "Second"}), &org)
	invite(org.ID)
	before := w.env.snapshot()
	again := w.env.do(keyed("decline_all_invitations", "decline-1", decline))
	if again.Raw != first.Raw || again.Header.Get("Idempotent-Replayed") != "true" || w.env.snapshot() != before {
		t.Fatalf("retry: %d %s %v", again.Status, again.Raw, again.Header)
	}
	if r := w.env.do(keyed("decline_all_invitations", "decline-2", decline)); string(r.Result) != `{"declined":1}` || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("a new key: %d %s", r.Status, r.Raw)
	}
}
