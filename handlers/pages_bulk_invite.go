package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// bulkInviteForm names the bulk form where a redirect carries it to the
// page (takeForm), and the section the redirect scrolls to.
const bulkInviteForm = "bulk-invite"

// handleBulkInvite invites many usernames at once from the organization
// page, through the same InviteUsers as invite_users_to_organization:
// every row is judged as a single invitation, and the answer lists each
// row's outcome. With htmx the form is swapped in place (and the members
// table, if anyone was invited); without JavaScript it redirects back to
// the organization page (Post/Redirect/Get, so a reload invites nobody
// again), which shows the same list once. Either way the field keeps the
// usernames that were not invited, to correct and send again.
func (s *Server) handleBulkInvite(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	form := views.BulkInviteForm{Usernames: formValue(c, "usernames")}
	usernames := splitUsernames(form.Usernames)
	form.Role, err = inviteRole(formValue(c, "member_class"))
	if err == nil && len(usernames) == 0 {
		err = guildhall.Errorf(guildhall.EINVALID, "Enter at least one username.")
	}
	var results []guildhall.InvitationResult
	if err == nil {
		invitations := make([]guildhall.Invitation, len(usernames))
		for i, u := range usernames {
			invitations[i] = guildhall.Invitation{Username: u, Role: form.Role}
		}
		results, _, err = s.svc.InviteUsers(c.Request().Context(), a, orgID, invitations, false)
	}
	if err != nil && !userFacing(err) {
		return err
	}
	if err == nil {
		var refused []string
		for _, r := range bulkInviteRows(results) {
			form.Rows = append(form.Rows, views.BulkInviteRow{Username: r.UsernameToInvite, Invited: r.Success, Message: r.Error})
			if !r.Success {
				refused = append(refused, r.UsernameToInvite)
			}
		}
		form.Usernames = strings.Join(refused, "\n")
	}
	if !isHTMX(c) {
		return s.redirectWithForm(c, views.OrgURL(orgID), bulkInviteForm, err, bulkFormValues(form))
	}
	v, verr := s.organizationView(c, a, orgID)
	if verr != nil {
		return verr
	}
	status := http.StatusOK
	if err != nil {
		form.Error, status = guildhall.ErrorMessage(err), errorStatus(c, err)
	}
	v.Bulk = form
	return render(c, status, views.BulkInviteResult(s.web.csrf.token(c, sessionOf(c)), v))
}

// bulkFormValues is the bulk form as a redirect carries it: the field,
// the role, and each row's username with its refusal ("" when invited),
// in the order given.
func bulkFormValues(f views.BulkInviteForm) url.Values {
	values := url.Values{"usernames": {f.Usernames}, "member_class": {string(f.Role)}}
	for _, r := range f.Rows {
		values.Add("row", r.Username)
		values.Add("refusal", r.Message)
	}
	return values
}

// bulkFormFrom reads back what bulkFormValues kept, with the refusal of
// the whole form if there was one.
func bulkFormFrom(values url.Values, refusal string) views.BulkInviteForm {
	f := views.BulkInviteForm{Usernames: values.Get("usernames"), Role: guildhall.Role(values.Get("member_class")), Error: refusal}
	rows, refusals := values["row"], values["refusal"]
	for i := 0; i < len(rows) && i < len(refusals); i++ {
		f.Rows = append(f.Rows, views.BulkInviteRow{Username: rows[i], Invited: refusals[i] == "", Message: refusals[i]})
	}
	return f
}

// splitUsernames reads the bulk form's field: usernames one per line or
// separated by commas, spaces around them ignored, empty entries skipped.
func splitUsernames(text string) []string {
	var out []string
	for _, field := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if u := strings.TrimSpace(field); u != "" {
			out = append(out, u)
		}
	}
	return out
}
