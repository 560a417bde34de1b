package handlers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserTestTimeout bounds the whole browser session.
const browserTestTimeout = 90 * time.Second

// screenshotSettle lets transitions (the loading indicator fades out over
// 200 ms after a swap) finish before a screenshot.
const screenshotSettle = 300 * time.Millisecond

// chromiumPath finds a Chromium to drive. Without one the browser tests
// skip, except under CI (CI set), where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("GUILDHALL_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "headless-shell"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed; under CI the browser tests must run (apt-get install chromium)")
	}
	t.Skip("Chromium is not installed; skipping the browser tests (they run, and must pass, under CI)")
	return ""
}

// browserSession is one headless Chromium for a test, with a tab per user.
type browserSession struct {
	t        *testing.T
	base     string
	alloc    context.Context
	browser  context.Context
	shots    string // where screenshots go; empty: none are written
	mu       sync.Mutex
	problems []string // CSP violations and uncaught exceptions seen in any tab
}

func newBrowserSession(t *testing.T, base string) *browserSession {
	path := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTestTimeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	b := &browserSession{t: t, base: base, alloc: alloc, browser: browser, shots: os.Getenv("GUILDHALL_SCREENSHOTS")}
	if b.shots != "" {
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// tab opens a tab in a browser context of its own: its own cookies, as a
// separate person's browser would have.
func (b *browserSession) tab() context.Context {
	ctx, cancel := chromedp.NewContext(b.browser, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return ctx
}

// do runs actions in a tab, failing the test with what was being done.
func (b *browserSession) do(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text reads an element's visible text.
func (b *browserSession) text(ctx context.Context, sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// eval evaluates JavaScript in the page.
func evalIn[T any](b *browserSession, ctx context.Context, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves a full-page screenshot when GUILDHALL_SCREENSHOTS names a folder.
func (b *browserSession) shot(ctx context.Context, name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	time.Sleep(screenshotSettle)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in through the login page and waits for the dashboard.
func (b *browserSession) signIn(ctx context.Context, user string) {
	b.t.Helper()
	b.do(ctx, "sign in as "+user,
		chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-username")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), user+"-password"),
		chromedp.Click(chromedp.CSS(`form[data-testid="login-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-user"]`)),
	)
	if got := b.text(ctx, `[data-testid="nav-user"]`); got != user {
		b.t.Fatalf("signed in as %q, want %q", got, user)
	}
}

// TestBrowserInviteAndAccept is the walk through the pages in a
// real browser: an owner invites with the htmx form, the page updates in
// place, an unknown user is refused beside the form, and the invitee
// accepts from the dashboard.
func TestBrowserInviteAndAccept(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t)
	owner := env.user("alice")
	env.user("bob")
	env.user("cora")
	orgID := env.org(owner, "Acme Guild")
	b := newBrowserSession(t, env.srv.URL)

	alice := b.tab()
	b.do(alice, "open the login page", chromedp.Navigate(b.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#login-username")))
	b.shot(alice, "01-login")
	b.signIn(alice, "alice")
	b.shot(alice, "02-dashboard-owner")

	// Open the organization from the dashboard.
	b.do(alice, "open the organization",
		chromedp.Click(chromedp.CSS(`[data-testid="my-org"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`form[data-testid="invite-form"]`)),
	)
	if got := b.text(alice, `[data-testid="org-name"]`); got != "Acme Guild" {
		t.Fatalf("organization page shows %q", got)
	}
	b.shot(alice, "03-organization")

	// Invite bob with the form. A value set on window before the submit
	// survives it only if the page was not loaded again.
	evalIn[int](b, alice, `window.__marker = 42`)
	b.do(alice, "invite bob",
		chromedp.SendKeys(chromedp.CSS("#invite-username"), "bob"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "member"),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members tr[data-username="bob"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#status [data-testid="status"]`)),
	)
	if got := b.text(alice, `#status [data-testid="status"]`); got != "Invited bob as member" {
		t.Errorf("status line %q", got)
	}
	if got := b.text(alice, `#members tr[data-username="bob"] [data-testid="member-status"]`); got != "invited" {
		t.Errorf("bob's row status %q", got)
	}
	if m := evalIn[int](b, alice, `window.__marker`); m != 42 {
		t.Fatalf("window.__marker = %d after the invite: the page was loaded again", m)
	}
	if v := evalIn[string](b, alice, `document.querySelector("#invite-username").value`); v != "" {
		t.Errorf("the form was not cleared: %q", v)
	}
	if evalIn[bool](b, alice, `document.activeElement && document.activeElement.id === "invite-username"`) != true {
		t.Error("focus is not back in the username field")
	}
	b.shot(alice, "04-invited")

	// An unknown user: the service's message beside the form, input kept,
	// still no page load, and the earlier status line cleared.
	b.do(alice, "invite nobody",
		chromedp.SendKeys(chromedp.CSS("#invite-username"), "nobody"),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#invite-error")),
	)
	if got := b.text(alice, "#invite-error"); got != `There is no user named "nobody".` {
		t.Errorf("error beside the form: %q", got)
	}
	if v := evalIn[string](b, alice, `document.querySelector("#invite-username").value`); v != "nobody" {
		t.Errorf("the input was not kept: %q", v)
	}
	if m := evalIn[int](b, alice, `window.__marker`); m != 42 {
		t.Fatal("the page was loaded again after the failed invite")
	}
	if got := evalIn[string](b, alice, `document.querySelector("#status").textContent.trim()`); got != "" {
		t.Errorf("the status area still says %q beside the error", got)
	}
	b.shot(alice, "05-invite-error")

	// Many at once: each row's outcome appears in place, still no page load.
	b.do(alice, "invite many",
		chromedp.Click(chromedp.CSS(`#bulk-invite summary`)),
		chromedp.SendKeys(chromedp.CSS("#bulk-usernames"), "cora\nnobody"),
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-invite-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-invite-row"][data-username="nobody"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members tr[data-username="cora"]`)),
	)
	if got := strings.Join(strings.Fields(b.text(alice, `[data-testid="bulk-invite-results"]`)), " "); got != `cora invited nobody: There is no user named "nobody".` {
		t.Errorf("bulk rows %q", got)
	}
	if m := evalIn[int](b, alice, `window.__marker`); m != 42 {
		t.Fatal("the page was loaded again after the bulk invite")
	}
	b.shot(alice, "05b-bulk-invite")

	// The invitee signs in in another browser and accepts from the dashboard.
	bob := b.tab()
	b.signIn(bob, "bob")
	b.do(bob, "see the invitation", chromedp.WaitVisible(chromedp.CSS(`[data-testid="invitation"]`)))
	if got := b.text(bob, `[data-testid="invitation"]`); !strings.Contains(got, "Acme Guild") || !strings.Contains(got, "alice") || !strings.Contains(got, "member") {
		t.Errorf("invitation row %q", got)
	}
	b.shot(bob, "06-dashboard-invitee")
	b.do(bob, "accept",
		chromedp.Click(chromedp.CSS(`[data-testid="invitation"] [data-testid="accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="org-name"]`)),
	)
	if got := b.text(bob, `#status [data-testid="status"]`); got != "Welcome to Acme Guild: you joined as member." {
		t.Errorf("after accepting: %q", got)
	}
	b.shot(bob, "07-accepted")
	if !slices.Contains(env.memberships(owner, orgID), "bob:member:active") {
		t.Fatalf("database after accept: %v", env.memberships(owner, orgID))
	}
	// Both sides see it: alice's page, reloaded, lists bob as active.
	b.do(alice, "reload", chromedp.Navigate(b.base+orgPath(orgID)), chromedp.WaitVisible(chromedp.CSS(`#members tr[data-username="bob"]`)))
	if got := b.text(alice, `#members tr[data-username="bob"] [data-testid="member-status"]`); got != "active" {
		t.Errorf("alice sees bob as %q", got)
	}

	// The other pages, for the eye: sign-up, new organization, API keys, a
	// phone-sized organization page.
	// A new user signs up and founds an organization, all through the pages.
	carol := b.tab()
	b.do(carol, "sign-up page", chromedp.Navigate(b.base+"/signup"), chromedp.WaitVisible(chromedp.CSS("#signup-username")))
	b.shot(carol, "08-signup")
	b.do(carol, "sign up",
		chromedp.SendKeys(chromedp.CSS("#signup-username"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#signup-password"), "carol-password"),
		chromedp.SendKeys(chromedp.CSS("#signup-confirm"), "carol-password"),
		chromedp.Click(chromedp.CSS(`form[data-testid="signup-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-org"]`)),
	)
	if got := b.text(carol, `[data-testid="nav-user"]`); got != "carol" {
		t.Fatalf("after sign-up the navigation shows %q", got)
	}
	b.do(carol, "found an organization",
		chromedp.Click(chromedp.CSS(`[data-testid="new-org"]`)),
		chromedp.WaitVisible(chromedp.CSS("#org-name")),
		chromedp.SendKeys(chromedp.CSS("#org-name"), "Carol's Crafts"),
		chromedp.Click(chromedp.CSS(`form[data-testid="new-org-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[data-testid="invite-form"]`)),
	)
	if got := b.text(carol, `[data-testid="org-name"]`); got != "Carol's Crafts" {
		t.Errorf("new organization page shows %q", got)
	}
	b.do(alice, "new organization page", chromedp.Navigate(b.base+"/orgs/new"), chromedp.WaitVisible(chromedp.CSS("#org-name")))
	b.shot(alice, "09-new-organization")
	b.do(alice, "create a key",
		chromedp.Navigate(b.base+"/keys"),
		chromedp.SendKeys(chromedp.CSS("#key-title"), "deploy script"),
		chromedp.Click(chromedp.CSS(`form[data-testid="create-key-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key-value"]`)),
	)
	if key := b.text(alice, `[data-testid="new-key-value"]`); !strings.HasPrefix(key, "sk-") {
		t.Errorf("new key %q", key)
	}
	b.shot(alice, "10-api-keys")
	b.do(alice, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.base+orgPath(orgID)), chromedp.WaitVisible(chromedp.CSS("#members")))
	b.shot(alice, "11-organization-phone")

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(b.problems, "\n"))
	}
}
