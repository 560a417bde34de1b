package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"guildhall"
	"guildhall/db/dbtest"
)

// browserTestTimeout bounds the whole browser session.
const browserTestTimeout = 150 * time.Second

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
	axe      string   // axe-core, injected by audit (never served by the server)
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
	axe, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	b := &browserSession{t: t, base: base, alloc: alloc, browser: browser, shots: os.Getenv("GUILDHALL_SCREENSHOTS"), axe: string(axe)}
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
		// Filled, not typed: key by key costs a second a sign-in, and no
		// script on the page listens to keys.
		chromedp.SetValue(chromedp.CSS("#login-username"), user),
		chromedp.SetValue(chromedp.CSS("#login-password"), user+"-password"),
		chromedp.Click(chromedp.CSS(`form[data-testid="login-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-user"]`)),
	)
	if got := b.text(ctx, `[data-testid="nav-user"]`); got != user {
		b.t.Fatalf("signed in as %q, want %q", got, user)
	}
}

// noScript turns JavaScript off in a tab: what a visitor without it gets.
func (b *browserSession) noScript(ctx context.Context) {
	b.t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		b.t.Fatal(err)
	}
}

// axeViolation is what audit reports of a serious or critical finding.
type axeViolation struct {
	ID, Impact, Help string
	Targets          []string
}

// audit checks the page open in ctx at the two widths the issue names: no
// wider than the viewport (nothing scrolls sideways but a table's own
// region), and no serious or critical axe-core violation. name labels the
// failures and the screenshots.
func (b *browserSession) audit(ctx context.Context, name string) {
	b.t.Helper()
	// Audit the page at rest: an element caught in a CSS transition (an
	// htmx indicator still fading out after its swap) is drawn in colours
	// between its two states, which axe measures and nobody reads.
	// Infinite animations (Pico's aria-busy spinner) are no transitions.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getAnimations().every(a => !(a instanceof CSSTransition)) || null`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		b.t.Fatalf("%s: CSS transitions still running: %v", name, err)
	}
	for _, width := range []int64{360, 1280} {
		b.do(ctx, "resize for "+name, chromedp.EmulateViewport(width, 800))
		if w := evalIn[int](b, ctx, `document.documentElement.scrollWidth`); w > int(width) {
			wide := evalIn[string](b, ctx, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest(".table-scroll")).slice(0, 5).map(e => e.tagName + "." + e.className).join(", ")`)
			b.t.Errorf("%s at %d px is %d px wide (%s)", name, width, w, wide)
		}
		b.shot(ctx, fmt.Sprintf("%s-%d", name, width))
	}
	if evalIn[bool](b, ctx, `typeof axe === "undefined"`) {
		evalIn[chromedp.Void](b, ctx, b.axe)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Targets: v.nodes.map(n => n.target.join(" "))}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", name, err)
	}
	var found []axeViolation
	if err := json.Unmarshal([]byte(raw), &found); err != nil {
		b.t.Fatal(err)
	}
	for _, v := range found {
		b.t.Errorf("%s: axe %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Targets)
	}
}

// focusReaches reports whether the keyboard focus comes to an element
// matching sel within a second (it moves once htmx has settled a swap).
func (b *browserSession) focusReaches(ctx context.Context, sel string) bool {
	b.t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement.matches(`+fmt.Sprintf("%q", sel)+`) || null`, chromedp.WithPollingTimeout(time.Second)))
	return err == nil
}

// open navigates to path and waits for sel.
func (b *browserSession) open(ctx context.Context, path, sel string) {
	b.t.Helper()
	b.do(ctx, "open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// confirmInDialog clicks a control that asks first, checks the dialog is
// open and modal, and clicks its button.
func (b *browserSession) confirmInDialog(ctx context.Context, trigger string) {
	b.t.Helper()
	b.do(ctx, "ask: "+trigger, chromedp.Click(chromedp.CSS(trigger)), chromedp.WaitVisible(chromedp.CSS(`dialog[data-confirm][open] [data-testid="confirm-submit"]`)))
	if !evalIn[bool](b, ctx, `document.querySelector("dialog[data-confirm]").matches(":modal")`) {
		b.t.Errorf("the confirmation for %s is not modal", trigger)
	}
	b.do(ctx, "confirm: "+trigger, chromedp.Click(chromedp.CSS(`dialog[data-confirm] [data-testid="confirm-submit"]`)))
}

// TestBrowserConsole walks the flows in one headless Chromium:
// invite with htmx, one person and many at once; change a role, remove with its confirmation, resend an
// expired invitation, revoke; rename, transfer, leave, delete; change the
// password while another browser is signed in; decline all; and each
// without JavaScript. Every page is checked at 360 and 1280 px for width
// and with axe-core.
func TestBrowserConsole(t *testing.T) {
	if dbtest.Postgres() {
		// A fifth of a PostgreSQL pass for nothing it would show: the
		// backend changes no page, and every page's HTTP test runs there.
		t.Skip("the browser walk runs on the SQLite pass")
	}
	t.Parallel()
	env := newPageEnv(t)
	ctx := context.Background()
	alice, adam, mary, vera := env.user("alice"), env.user("adam"), env.user("mary"), env.user("vera")
	env.user("bob")
	env.user("cora")
	carl, zed := env.user("carl"), env.user("zed")
	orgID := env.org(alice, "Acme Guild")
	env.member(alice, orgID, adam, guildhall.RoleAdmin)
	env.member(alice, orgID, mary, guildhall.RoleMember)
	env.member(alice, orgID, vera, guildhall.RoleViewer)
	if _, err := env.store.InviteUser(ctx, alice, orgID, carl.Username, guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	env.advance(8 * 24 * time.Hour) // carl's invitation expires
	doomed := env.org(alice, "Doomed")
	for _, org := range []int64{env.org(alice, "Second"), env.org(alice, "Third")} {
		if _, err := env.store.InviteUser(ctx, alice, org, zed.Username, guildhall.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowserSession(t, env.srv.URL)
	org := orgPath(orgID)

	// Signed out: the login page, and the skip link, visible when a
	// keyboard reaches it.
	tab := b.tab()
	b.open(tab, "/login", "#login-username")
	b.audit(tab, "login")
	b.do(tab, "focus the skip link", chromedp.Focus(chromedp.CSS(".skip-link")))
	if !evalIn[bool](b, tab, `(() => { const a = document.activeElement, r = a.getBoundingClientRect(); return a.classList.contains("skip-link") && r.top >= 0 && r.width > 20 })()`) {
		t.Errorf("the focused skip link is not visible: %s", evalIn[string](b, tab, `document.activeElement.outerHTML.slice(0,100) + JSON.stringify(document.activeElement.getBoundingClientRect())`))
	}
	b.open(tab, "/signup", "#signup-username")
	b.audit(tab, "signup")

	// alice, with JavaScript, in Tokyo: times show in her zone.
	a := b.tab()
	if _, err := chromedp.Call(a, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	b.signIn(a, "alice")
	b.audit(a, "dashboard")
	b.open(a, org, `form[data-testid="invite-form"]`)
	b.audit(a, "organization")
	if got := b.text(a, `#audit time`); strings.Contains(got, "UTC") || got == "" {
		t.Errorf("the audit trail's time %q is not local", got)
	}

	// Invite with htmx: the row appears, the message beside the form.
	evalIn[int](b, a, `window.__marker = 42`)
	b.do(a, "invite bob",
		chromedp.SendKeys(chromedp.CSS("#invite-username"), "Bob"),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members tr[data-username="bob"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#invite-status [data-testid="status"]`)),
	)
	if got := b.text(a, `#invite-status`); got != "Invited bob as member" {
		t.Errorf("invite status %q", got)
	}
	// Many at once: each row's outcome appears in place, the new row in
	// the list, the count beside the forms, still no page load.
	b.do(a, "invite many",
		chromedp.Click(chromedp.CSS(`#bulk-invite summary`)),
		chromedp.SendKeys(chromedp.CSS("#bulk-usernames"), "cora\nnobody"),
		chromedp.Click(chromedp.CSS(`[data-testid="bulk-invite-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bulk-invite-row"][data-username="nobody"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members tr[data-username="cora"]`)),
	)
	if got := strings.Join(strings.Fields(b.text(a, `[data-testid="bulk-invite-results"]`)), " "); got != `cora invited nobody: There is no user named "nobody".` {
		t.Errorf("bulk rows %q", got)
	}
	if got := b.text(a, `#invite-status`); got != "Invited 1 of 2" {
		t.Errorf("bulk invite status %q", got)
	}
	if v := evalIn[string](b, a, `document.querySelector("#bulk-usernames").value`); v != "nobody" {
		t.Errorf("the bulk field keeps %q, want the username not invited", v)
	}
	b.audit(a, "organization-bulk-invite")

	// Change a role: mary member → viewer, in place.
	b.do(a, "change mary's role",
		chromedp.SetValue(chromedp.CSS(`#role-mary`), "viewer"),
		chromedp.Click(chromedp.CSS(`tr[data-username="mary"] [data-testid="role-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members-status [data-testid="status"]`)),
	)
	if got := b.text(a, `#members-status`); got != "mary is now viewer." {
		t.Errorf("role change status %q", got)
	}
	// The focus moves to the list once htmx has settled it (and wired its
	// controls): only then does a person, or this test, use them.
	if !b.focusReaches(a, `[data-testid="members-region"]`) {
		t.Error("after a role change the focus is not on the member list")
	}
	// Remove vera, once confirmed in a dialog; the focus lands on the list.
	b.do(a, "open the remove dialog", chromedp.Click(chromedp.CSS(`tr[data-username="vera"] [data-testid="remove"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[data-confirm][open]`)))
	b.audit(a, "dialog-remove")
	b.do(a, "cancel", chromedp.Click(chromedp.CSS(`dialog[data-confirm] button[command="close"]`)), chromedp.WaitNotPresent(chromedp.CSS(`dialog[data-confirm]`)))
	b.confirmInDialog(a, `tr[data-username="vera"] [data-testid="remove"]`)
	b.do(a, "vera is gone", chromedp.WaitNotPresent(chromedp.CSS(`tr[data-username="vera"]`)), chromedp.WaitNotPresent(chromedp.CSS(`dialog[data-confirm]`)))
	if !b.focusReaches(a, `[data-testid="members-region"]`) {
		t.Errorf("after the removal the focus is on %s", evalIn[string](b, a, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	// Resend carl's expired invitation; revoke bob's.
	if got := b.text(a, `tr[data-username="carl"] [data-testid="member-status"]`); got != "expired" {
		t.Errorf("carl's invitation shows as %q", got)
	}
	b.do(a, "resend", chromedp.Click(chromedp.CSS(`tr[data-username="carl"] [data-testid="resend"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-username="carl"][data-status="invited"]`)))
	if !b.focusReaches(a, `[data-testid="members-region"]`) {
		t.Error("after a resend the focus is not on the member list")
	}
	b.confirmInDialog(a, `tr[data-username="bob"] [data-testid="revoke"]`)
	b.do(a, "bob is gone", chromedp.WaitNotPresent(chromedp.CSS(`tr[data-username="bob"]`)))
	if !b.focusReaches(a, `[data-testid="members-region"]`) {
		t.Error("after an htmx revoke the focus is not on the member list")
	}
	if m := evalIn[int](b, a, `window.__marker`); m != 42 {
		t.Fatal("the organization page was loaded again during the htmx actions")
	}
	b.audit(a, "organization-after")

	// Settings: rename, then hand over to adam (asked in a dialog).
	b.open(a, org+"/settings", "#details-name")
	b.audit(a, "settings")
	b.do(a, "rename",
		chromedp.SetValue(chromedp.CSS("#details-name"), "Acme Works"),
		chromedp.Click(chromedp.CSS(`[data-testid="details-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#details-status [data-testid="status"]`)),
	)
	b.do(a, "name the new owner", chromedp.SendKeys(chromedp.CSS("#transfer-username"), "adam"))
	b.confirmInDialog(a, `[data-testid="transfer-submit"]`)
	b.do(a, "back on the list", chromedp.WaitVisible(chromedp.CSS(`#members-status [data-testid="status"]`)))
	if got := env.memberships(adam, orgID); !slices.Contains(got, "adam:owner:active") || !slices.Contains(got, "alice:admin:active") {
		t.Fatalf("after the transfer: %v", got)
	}
	// The confirmation as a page of its own (what a browser without
	// JavaScript is led to).
	b.open(a, orgPath(doomed)+"/delete", `[data-testid="confirm-page"]`)
	b.audit(a, "confirm-page")
	// Delete Doomed, typing its name in the dialog.
	b.open(a, orgPath(doomed)+"/settings", `[data-testid="delete-org"]`)
	b.do(a, "ask to delete", chromedp.Click(chromedp.CSS(`[data-testid="delete-org"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[data-confirm][open] #confirm-name`)))
	b.do(a, "delete", chromedp.SendKeys(chromedp.CSS("#confirm-name"), "Doomed"), chromedp.Click(chromedp.CSS(`dialog [data-testid="confirm-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#status [data-testid="status"]`)))
	if got := b.text(a, "#status"); got != "Deleted Doomed." {
		t.Errorf("after deleting: %q", got)
	}
	// Leave Acme Works (alice is an admin now).
	b.open(a, org, `[data-testid="members-list"]`)
	b.confirmInDialog(a, `tr[data-username="alice"] [data-testid="leave"]`)
	b.do(a, "left", chromedp.WaitVisible(chromedp.CSS(`#status [data-testid="status"]`)))
	if got := b.text(a, "#status"); got != "You left Acme Works." {
		t.Errorf("after leaving: %q", got)
	}

	// The API keys page: a key shown once, after a redirect.
	b.open(a, "/keys", "#key-title")
	b.do(a, "create a key", chromedp.SendKeys(chromedp.CSS("#key-title"), "deploy"),
		chromedp.SendKeys(chromedp.CSS("#key-password"), "alice-password"),
		chromedp.Click(chromedp.CSS(`form[data-testid="create-key-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key-value"]`)))
	b.audit(a, "keys")
	b.open(a, "/orgs/new", "#org-name")
	b.audit(a, "new-organization")

	// Change the password while another browser is signed in as alice: it
	// is signed out, this one stays.
	other := b.tab()
	b.signIn(other, "alice")
	b.open(a, "/account", "#current-password")
	b.audit(a, "account")
	b.do(a, "change the password",
		chromedp.SetValue(chromedp.CSS("#current-password"), "alice-password"),
		chromedp.SetValue(chromedp.CSS("#new-password"), "a much newer password"),
		chromedp.SetValue(chromedp.CSS("#new-password-confirm"), "a much newer password"),
		chromedp.Click(chromedp.CSS(`[data-testid="password-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#password-status [data-testid="status"]`)),
	)
	b.open(other, "/account", "#login-username")
	b.open(a, "/account", `[data-testid="nav-user"]`)

	// zed declines all, asked in a dialog.
	z := b.tab()
	b.signIn(z, "zed")
	b.confirmInDialog(z, `[data-testid="decline-all"]`)
	b.do(z, "declined", chromedp.WaitVisible(chromedp.CSS(`#invitations-status [data-testid="status"]`)))
	if got := b.text(z, "#invitations-status"); got != "Declined 2 invitations." {
		t.Errorf("decline all: %q", got)
	}

	// Without JavaScript, as adam (now the owner): the same actions through
	// confirmation pages and redirects.
	n := b.tab()
	b.noScript(n)
	b.signIn(n, "adam")
	b.open(n, org, `[data-testid="members-list"]`)
	b.do(n, "remove mary: the confirmation page", chromedp.Click(chromedp.CSS(`tr[data-username="mary"] [data-testid="remove"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-page"]`)))
	b.shot(n, "confirm-page-nojs")
	b.do(n, "remove mary", chromedp.Click(chromedp.CSS(`[data-testid="confirm-submit"]`)), chromedp.WaitVisible(chromedp.CSS(`#members-status [data-testid="status"]`)))
	if got := b.text(n, "#members-status"); got != "Removed mary." {
		t.Errorf("no-JS remove: %q", got)
	}
	b.do(n, "a refused invitation",
		chromedp.SendKeys(chromedp.CSS("#invite-username"), "nobody"),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#invite-error")),
	)
	if u := evalURL(b, n); strings.Contains(u, "/invitations") {
		t.Errorf("a refused no-JS invitation leaves the browser on %s", u)
	}
	b.do(n, "create a key", chromedp.Navigate(b.base+"/keys"), chromedp.SendKeys(chromedp.CSS("#key-title"), "no script"),
		chromedp.SendKeys(chromedp.CSS("#key-password"), "adam-password"),
		chromedp.Click(chromedp.CSS(`form[data-testid="create-key-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key-value"]`)),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#key-title`)))
	if keys, err := env.store.ListAPIKeys(ctx, adam); err != nil || len(keys) != 1 {
		t.Errorf("after a reload of the page that showed the key: %d keys (%v)", len(keys), err)
	}
	b.do(n, "resend carl: a plain form post", chromedp.Navigate(b.base+org), chromedp.Click(chromedp.CSS(`tr[data-username="carl"] [data-testid="resend"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members-status [data-testid="status"]`)))
	b.do(n, "transfer: the confirmation page", chromedp.Navigate(b.base+org+"/settings"), chromedp.SendKeys(chromedp.CSS("#transfer-username"), "nobody"),
		chromedp.Click(chromedp.CSS(`[data-testid="transfer-submit"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-page"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-submit"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="transfer-error"]`)))

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(b.problems, "\n"))
	}
}

// evalURL is the address the tab shows.
func evalURL(b *browserSession, ctx context.Context) string {
	b.t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}
