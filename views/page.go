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
	"strings"
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

// Flash is a one-time message for a status area of the next page.
type Flash struct {
	Kind    string // FlashOK or FlashError
	Message string
	// Near names the status area it shows in, beside the form that caused
	// it (see the Near* constants); empty for the page's own, at the top.
	Near string
}

// The status areas: the page's own at the top, and those beside forms, by
// the id of the section they belong to.
const (
	NearTop         = ""
	NearInvite      = "invite"
	NearMembers     = "members"
	NearDetails     = "details"
	NearTransfer    = "transfer"
	NearPassword    = "password"
	NearSessions    = "sessions"
	NearKeys        = "keys"
	NearInvitations = "invitations"
)

// statusID is the id of the status area for near ("status" at the top).
func statusID(near string) string {
	if near == NearTop {
		return "status"
	}
	return near + "-status"
}

// StatusAreaFor is the status area an htmx request's refusal belongs in:
// the one beside the element it targets (htmx names it in HX-Target), or
// the page's own.
func StatusAreaFor(hxTarget string) string {
	switch hxTarget {
	case NearMembers, NearInvite:
		return "#" + statusID(hxTarget)
	}
	return "#status"
}

// allFlashesOnTop moves every message to the page's own status area.
func (p Page) allFlashesOnTop() Page {
	flashes := make([]Flash, len(p.Flashes))
	for i, f := range p.Flashes {
		f.Near = NearTop
		flashes[i] = f
	}
	p.Flashes = flashes
	return p
}

// flashesNear returns the page's messages for the status area near.
func (p Page) flashesNear(near string) []Flash {
	var out []Flash
	for _, f := range p.Flashes {
		if f.Near == near {
			out = append(out, f)
		}
	}
	return out
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
	// "account", "login" or "signup".
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

// The pages' own URLs. The handlers build the URLs they answer with
// (redirects, the action of a confirmation) with these same functions,
// from parameters they have validated: never from the request's path,
// which the router has decoded (a %2F in a parameter would be a path step).

// OrgURL is an organization's page.
func OrgURL(id int64) string { return "/orgs/" + strconv.FormatInt(id, 10) }

// orgURL is OrgURL for an href.
func orgURL(id int64) templ.SafeURL { return templ.SafeURL(OrgURL(id)) }

// dashboardURL is the dashboard with one list's cursor changed by set to
// cur and the other's kept, at the changed list.
func dashboardURL(d Dashboard, set func(*Dashboard, string), cur string) templ.SafeURL {
	set(&d, cur)
	v := url.Values{}
	if d.OrgsCursor != "" {
		v.Set("orgs", d.OrgsCursor)
	}
	if d.InvitationsCursor != "" {
		v.Set("invitations", d.InvitationsCursor)
	}
	u := "/"
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return templ.SafeURL(u)
}

// MembersListQuery is what the member list's URL says: the search, the
// filters and the order as the page names them, and the cursor of the
// page ("" for the first).
type MembersListQuery struct {
	Search string
	Status guildhall.MemberFilter // MembersCurrent: the list's "All"
	Role   guildhall.Role
	Sort   guildhall.MemberSort
	Cursor string
}

// membersPageURL is the member list of organization id as q asks for it.
func membersPageURL(id int64, q MembersListQuery) templ.SafeURL {
	v := url.Values{}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Status != guildhall.MembersCurrent && q.Status != guildhall.MembersAll {
		v.Set("status", string(q.Status))
	}
	if q.Role != "" {
		v.Set("role", string(q.Role))
	}
	if q.Sort != guildhall.SortByRole {
		v.Set("sort", string(q.Sort))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	u := OrgURL(id)
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return templ.SafeURL(u + "#members")
}

func inviteURL(id int64) string { return OrgURL(id) + "/invitations" }

// bulkInviteURL is where the "many at once" invite form posts.
func bulkInviteURL(id int64) string { return inviteURL(id) + "/bulk" }

// OrgActionURL is an action on the organization itself: "settings",
// "leave", "transfer", "delete".
func OrgActionURL(id int64, action string) string { return OrgURL(id) + "/" + action }

// MemberURL is an action on an active member: "role", "remove".
func MemberURL(id int64, username, action string) string {
	return OrgURL(id) + "/members/" + url.PathEscape(username) + "/" + action
}

// InvitationURL is an action on a pending invitation: "revoke", "resend".
func InvitationURL(id int64, username, action string) string {
	return OrgURL(id) + "/invitations/" + url.PathEscape(username) + "/" + action
}

// memberActionURL is an action on a row of the member list: MemberURL for
// an active member, InvitationURL for an invitation.
func memberActionURL(id int64, m guildhall.Membership, action string) string {
	if m.Open() {
		return InvitationURL(id, m.Username, action)
	}
	return MemberURL(id, m.Username, action)
}

// ResolveURL accepts or declines the visitor's invitation to organization id.
func ResolveURL(id int64, accept bool) string {
	verb := "decline"
	if accept {
		verb = "accept"
	}
	return "/invitations/" + strconv.FormatInt(id, 10) + "/" + verb
}

// DeclineAllURL declines every invitation of the visitor.
const DeclineAllURL = "/invitations/decline-all"

// DeleteKeyURL revokes the visitor's API key id.
func DeleteKeyURL(id int64) string { return "/keys/" + strconv.FormatInt(id, 10) + "/delete" }

// EndSessionURL signs out the visitor's session named handle
// (guildhall.Session.Handle).
func EndSessionURL(handle string) string {
	return "/account/sessions/" + url.PathEscape(handle) + "/end"
}

// localTimeFormat marks a <time> whose text static/app.js rewrites in the
// reader's own time zone; localTimeTitle one whose title it rewrites.
const (
	localTimeText  = "text"
	localTimeTitle = "title"
)

// machineTime is a time as the datetime attribute of <time> wants it.
func machineTime(t time.Time) string { return string(appendMachineTime(nil, t)) }

// shortTime is a time as people read it on these pages.
func shortTime(t time.Time) string { return string(appendShortTime(nil, t)) }

// usernameInputPattern is guildhall.UsernamePattern as an input's pattern
// attribute takes it: the browser anchors a pattern itself, and reads it
// as a JavaScript regular expression in its v mode, where a hyphen in a
// class must be escaped. TestUsernameInputPattern holds it to the rule.
var usernameInputPattern = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(guildhall.UsernamePattern, "^"), "$"), "-]", `\-]`)

// shortTimeLayout is shortTime's layout.
const shortTimeLayout = "2 Jan 2006, 15:04 UTC"

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
	case guildhall.ActionTransfer:
		return "handed ownership to"
	case guildhall.ActionResend:
		return "renewed the invitation of"
	case guildhall.ActionRename:
		return "renamed the organization to"
	case guildhall.ActionDescribe:
		return "changed the description"
	}
	return action
}

// auditShowsTarget reports whether the action's sentence names its target
// (for "accepted" and "created" the actor is the target).
func auditShowsTarget(action string) bool {
	switch action {
	case guildhall.ActionCreate, guildhall.ActionAccept, guildhall.ActionDecline, guildhall.ActionLeave, guildhall.ActionDescribe:
		return false
	}
	return true
}

// statusText is where a membership stands, in words: active, invited,
// or expired.
func statusText(m guildhall.Membership, now time.Time) string {
	switch {
	case m.Expired(now):
		return "expired"
	case m.Open():
		return "invited"
	}
	return "active"
}

// InviteStatus is the status line of a successful invitation.
func InviteStatus(username string, role guildhall.Role) string {
	return fmt.Sprintf("Invited %s as %s", username, role)
}
