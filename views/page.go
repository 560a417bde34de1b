// Package views renders Guildhall's HTML pages with templ. Each page is a
// layout plus components, and the components an htmx request swaps in are
// the very ones the full page is made of. Views import the domain package
// only; what they show comes in typed parameters.
package views

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"guildhall"
)

// Assets are the cache-busting URLs of the static files the layout loads.
type Assets struct {
	PicoCSS  string
	AppCSS   string
	PagesCSS string
	HTMX     string
	AppJS    string
}

// Flash kinds: a status line is either good news or a refusal.
const (
	FlashOK    = "ok"
	FlashError = "error"
)

// Flash is a one-time message for the status area of the next page.
type Flash struct {
	Kind    string // FlashOK or FlashError
	Message string
}

// Page is what every page shares: who is looking, the CSRF token its forms
// carry, the asset URLs and the messages to show once.
type Page struct {
	Title      string
	User       string // the signed-in username; empty when signed out
	CSRFToken  string
	Assets     Assets
	Flashes    []Flash
	SignupOpen bool
	// Section names the navigation entry to mark as current: "orgs", "keys",
	// "login" or "signup".
	Section string
}

// CSRFField is the name of the hidden form field that carries the token,
// and CSRFHeader the request header htmx sends it in.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// htmxConfig turns off what the Content-Security-Policy forbids anyway
// (htmx's inline indicator style and eval) and lets htmx swap 4xx and 5xx
// answers: the server answers failures of htmx requests with fragments
// meant to be shown (the form with its error, or a status line retargeted
// to the status area), so they keep their true status codes.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[2345]..","swap":true}]}`

// csrfHeaders is the hx-headers value that sends the token with every
// htmx request on the page.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{CSRFHeader: token})
	return string(b)
}

// orgURL and friends build the pages' own URLs.
func orgURL(id int64) templ.SafeURL { return templ.SafeURL("/orgs/" + strconv.FormatInt(id, 10)) }

// membersPageURL is page n (from 1) of an organization's member list, searched for q.
func membersPageURL(id int64, q string, n int) templ.SafeURL {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	u := "/orgs/" + strconv.FormatInt(id, 10)
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return templ.SafeURL(u + "#members")
}

func inviteURL(id int64) string { return "/orgs/" + strconv.FormatInt(id, 10) + "/invitations" }

func revokeURL(id int64, username string) string {
	return "/orgs/" + strconv.FormatInt(id, 10) + "/invitations/" + username + "/revoke"
}

func resolveURL(id int64, accept bool) templ.SafeURL {
	verb := "decline"
	if accept {
		verb = "accept"
	}
	return templ.SafeURL("/invitations/" + strconv.FormatInt(id, 10) + "/" + verb)
}

func deleteKeyURL(id int64) templ.SafeURL {
	return templ.SafeURL("/keys/" + strconv.FormatInt(id, 10) + "/delete")
}

// machineTime is a time as the datetime attribute of <time> wants it.
func machineTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// shortTime is a time as people read it on these pages.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// untilText says how far off t is from now, roughly: "in 6 days",
// "in 3 hours", "expired".
func untilText(now, t time.Time) string {
	d := t.Sub(now)
	rounded := func(unit time.Duration) int { return int((d + unit/2) / unit) }
	switch {
	case d <= 0:
		return "expired"
	case d >= 36*time.Hour:
		return fmt.Sprintf("in %d days", rounded(24*time.Hour))
	case d >= 90*time.Minute:
		return fmt.Sprintf("in %d hours", rounded(time.Hour))
	case d >= 90*time.Second:
		return fmt.Sprintf("in %d minutes", rounded(time.Minute))
	}
	return "in a minute"
}

// actionText describes an audit action in words.
func actionText(action string) string {
	switch action {
	case guildhall.ActionCreate:
		return "created the organization"
	case guildhall.ActionInvite:
		return "invited"
	case guildhall.ActionAccept:
		return "accepted the invitation"
	case guildhall.ActionDecline:
		return "declined the invitation"
	case guildhall.ActionRevoke:
		return "revoked the invitation of"
	case guildhall.ActionRole:
		return "changed the role of"
	case guildhall.ActionRemove:
		return "removed"
	case guildhall.ActionLeave:
		return "left"
	}
	return action
}

// auditShowsTarget reports whether the action's sentence names its target
// (for "accepted" and "created" the actor is the target).
func auditShowsTarget(action string) bool {
	switch action {
	case guildhall.ActionCreate, guildhall.ActionAccept, guildhall.ActionDecline, guildhall.ActionLeave:
		return false
	}
	return true
}

// statusText is a membership status in words.
func statusText(m guildhall.Membership) string {
	if m.Open() {
		return "invited"
	}
	return "active"
}

// InviteStatus is the status line of a successful invitation.
func InviteStatus(username string, role guildhall.Role) string {
	return fmt.Sprintf("Invited %s as %s", username, role)
}
