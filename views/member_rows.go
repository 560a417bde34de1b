package views

import (
	"context"
	"html"
	"io"
	"sync"
	"time"

	"github.com/a-h/templ"

	"guildhall"
)

// memberRows are the rows of the member list (MembersSection), each with
// the controls its viewer may use. They are the one component written in
// Go rather than in templ, because they are most of the organization
// page's cost: a page holds up to guildhall.MembersPageMaxSize rows, and
// in templ a row of 50 cost about 5 µs and 75 allocations, as templ
// resolves every expression through fmt.Sprint and an interface and every
// child component (CSRFInput, ConfirmLink, Time, the blank cells) through its own
// buffer. Here each row is appended to one buffer, every value that
// comes from outside escaped once, with html.EscapeString as templ
// escapes. The markup is that of the components it repeats:
// TestMemberRowsMatchTheirComponents holds it to them and checks every
// value reads back as given, and TestMemberRowsGolden to the bytes the
// templ row wrote (docs/PERFORMANCE.md has the figures).
func memberRows(csrf string, v OrganizationView) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		buf := rowBuffers.Get().(*rowBuffer)
		defer rowBuffers.Put(buf)
		b := buf.b[:0]
		escapedCSRF := html.EscapeString(csrf)
		grantable := guildhall.GrantableRoles(v.Role)
		for _, m := range v.Members {
			b = appendMemberRow(b, escapedCSRF, grantable, v, m)
		}
		_, err := w.Write(b)
		if cap(b) <= maxPooledRows {
			buf.b = b
		}
		return err
	})
}

// rowBuffer holds the rows of a page while they are written.
type rowBuffer struct{ b []byte }

// rowBuffers keeps the buffers for the next page: a page of rows is tens
// of kilobytes. A buffer grown past maxPooledRows (a page of a thousand
// rows is about a megabyte) goes back at its former size.
var rowBuffers = sync.Pool{New: func() any { return &rowBuffer{b: make([]byte, 0, 64<<10)} }}

const maxPooledRows = 256 << 10

// appendMemberRow appends the row of m, csrf being the escaped CSRF token
// and grantable the roles the viewer may grant.
func appendMemberRow(b []byte, csrf string, grantable []guildhall.Role, v OrganizationView, m guildhall.Membership) []byte {
	name, role := html.EscapeString(m.Username), html.EscapeString(string(m.Role))
	status := statusText(m, v.Now)                                 // one of three words
	actions := html.EscapeString(memberActionURL(v.Org.ID, m, "")) // each action's URL is this and its name
	open, manages := m.Open(), v.manages(m)

	b = append(b, `<tr id="member-`...)
	b = append(b, name...)
	b = append(b, `" data-testid="member" data-username="`...)
	b = append(b, name...)
	b = append(b, `" data-status="`...)
	b = append(b, status...)
	b = append(b, `"><th scope="row">`...)
	b = append(b, name...)
	b = append(b, ' ')
	if m.Username == v.Me {
		b = append(b, `<small class="muted">(you)</small>`...)
	}
	b = append(b, `</th><td>`...)
	if manages {
		b = appendPostForm(b, actions, "role", `" class="role-form" data-testid="role-form">`, csrf)
		b = append(b, `<label for="role-`...)
		b = append(b, name...)
		b = append(b, `" class="visually-hidden">Role of `...)
		b = append(b, name...)
		b = append(b, `</label> <select id="role-`...)
		b = append(b, name...)
		b = append(b, `" name="member_class" data-testid="role-select">`...)
		for _, r := range grantable { // the service's own constants
			b = append(b, `<option value="`...)
			b = append(b, r...)
			if r == m.Role {
				b = append(b, `" selected>`...)
			} else {
				b = append(b, `">`...)
			}
			b = append(b, r...)
			b = append(b, `</option>`...)
		}
		b = append(b, `</select> <button type="submit" class="secondary" aria-label="Change the role of `...)
		b = append(b, name...)
		b = append(b, `" data-testid="role-submit">Change</button></form>`...)
	} else {
		b = append(b, `<span class="badge" data-role="`...)
		b = append(b, role...)
		b = append(b, `" data-testid="role">`...)
		b = append(b, role...)
		b = append(b, `</span>`...)
	}
	b = append(b, `</td><td>`...)
	if open {
		b = append(b, `<span class="badge" data-status="`...)
		b = append(b, status...)
		b = append(b, `" data-testid="member-status">`...)
	} else {
		b = append(b, `<span data-testid="member-status">`...)
	}
	b = append(b, status...)
	b = append(b, `</span></td><td data-testid="member-sender">`...)
	if m.Sender != "" {
		b = append(b, html.EscapeString(m.Sender)...)
	} else {
		b = appendBlank(b, "nobody")
	}
	b = append(b, `</td><td data-testid="member-joined">`...)
	if open {
		b = appendBlank(b, "not yet")
	} else {
		b = append(b, `<time datetime="`...)
		b = appendMachineTime(b, m.Accepted)
		b = append(b, `" data-local="`+localTimeText+`">`...)
		b = appendShortTime(b, m.Accepted)
		b = append(b, `</time>`...)
	}
	b = append(b, `</td><td data-testid="member-expires">`...)
	if open {
		b = append(b, `<time datetime="`...)
		b = appendMachineTime(b, m.Expires)
		b = append(b, `" title="`...)
		b = appendShortTime(b, m.Expires)
		b = append(b, `" data-local="`+localTimeTitle+`">`...)
		b = append(b, untilText(v.Now, m.Expires)...)
		b = append(b, `</time>`...)
	} else {
		b = appendBlank(b, "does not expire")
	}
	b = append(b, `</td><td class="actions"><div class="row-actions">`...)
	if v.canRevoke(m) {
		b = appendPostForm(b, actions, "resend", `">`, csrf)
		b = append(b, `<button type="submit" class="secondary outline" data-testid="resend" aria-label="Resend the invitation of `...)
		b = append(b, name...)
		b = append(b, `">Resend</button></form>`...)
		b = appendConfirmLink(b, actions, "revoke", "Revoke", "Revoke the invitation of ", name)
	}
	if manages {
		b = appendConfirmLink(b, actions, "remove", "Remove", "Remove ", name)
	}
	if m.Username == v.Me {
		b = appendConfirmLink(b, html.EscapeString(OrgActionURL(v.Org.ID, "")), "leave", "Leave", "Leave ", html.EscapeString(v.Org.Name))
	}
	return append(b, `</div></td></tr>`...)
}

// appendPostForm appends the start of a form that posts to prefix+action
// with htmx (replacing the member list) and without, then its CSRF input:
// rest is the markup after htmx's attributes. prefix and csrf are escaped.
func appendPostForm(b []byte, prefix, action, rest, csrf string) []byte {
	b = append(b, `<form method="post" action="`...)
	b = append(b, prefix...)
	b = append(b, action...)
	b = append(b, `" hx-post="`...)
	b = append(b, prefix...)
	b = append(b, action...)
	b = append(b, `" hx-target="#members" hx-swap="outerHTML`...)
	b = append(b, rest...)
	b = append(b, `<input type="hidden" name="`+CSRFField+`" value="`...)
	b = append(b, csrf...)
	return append(b, `">`...)
}

// appendConfirmLink appends ConfirmLink(prefix+action, label, action,
// aria+whom): prefix and whom are escaped.
func appendConfirmLink(b []byte, prefix, action, label, aria, whom string) []byte {
	b = append(b, `<a href="`...)
	b = append(b, prefix...)
	b = append(b, action...)
	b = append(b, `" hx-get="`...)
	b = append(b, prefix...)
	b = append(b, action...)
	b = append(b, `" hx-target="#dialog-slot" hx-swap="innerHTML" role="button" class="secondary outline small" data-testid="`...)
	b = append(b, action...)
	b = append(b, `" aria-label="`...)
	b = append(b, aria...)
	b = append(b, whom...)
	b = append(b, `">`...)
	b = append(b, label...)
	return append(b, `</a>`...)
}

// appendBlank marks an empty cell: a dash to the eye, what it means
// (which needs no escaping) to a screen reader.
func appendBlank(b []byte, meaning string) []byte {
	b = append(b, `<span class="muted" aria-hidden="true">—</span><span class="visually-hidden">`...)
	b = append(b, meaning...)
	return append(b, `</span>`...)
}

// appendMachineTime appends t as the datetime attribute of <time> wants it.
func appendMachineTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, time.RFC3339)
}

// appendShortTime appends t as people read it on these pages.
func appendShortTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "never"...)
	}
	return t.UTC().AppendFormat(b, shortTimeLayout)
}
