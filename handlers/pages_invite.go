package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The invitation actions: invite and revoke from the organization page,
// accept and decline from the dashboard.

// handleInvite invites through the same InviteUser as
// invite_user_to_organization. With htmx the answer is swapped in place:
// on success the cleared form, the members table with the new row and the
// status line (200); on failure the form with the service's message and
// the input kept, under the failure's own status (htmx is configured to
// swap 4xx answers; see views.htmxConfig). Without JavaScript a success
// redirects back with a flash message, and a failure shows the page again
// with the message beside the form.
func (s *Server) handleInvite(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	form := views.InviteForm{Username: strings.TrimSpace(formValue(c, "username_to_invite")), Focus: true}
	var m guildhall.Membership
	switch roleText := formValue(c, "member_class"); {
	case form.Username == "":
		err = guildhall.Errorf(guildhall.EINVALID, "Enter the username of the person to invite.")
	case roleText == "":
		form.Role = guildhall.DefaultInviteRole
	default:
		form.Role, err = guildhall.ParseRole(roleText)
	}
	if err == nil {
		m, err = s.svc.InviteUser(c.Request().Context(), a, orgID, form.Username, form.Role)
	}
	if err != nil && !userFacing(err) {
		return err
	}
	v, verr := s.organizationView(c, a, orgID)
	if verr != nil {
		return verr
	}
	if err != nil {
		form.Error = guildhall.ErrorMessage(err)
		v.Invite = form
		status := errorStatus(c, err)
		if isHTMX(c) {
			return render(c, status, views.InviteResult(s.web.csrf.token(c, sessionOf(c)), v, ""))
		}
		v.Invite.Focus = false
		return render(c, status, views.OrganizationPage(s.pageTakingFlashes(c, v.Org.Name, "orgs"), v))
	}
	status := views.InviteStatus(m.Username, m.Role)
	if isHTMX(c) {
		v.Invite = views.InviteForm{Focus: true}
		return render(c, http.StatusOK, views.InviteResult(s.web.csrf.token(c, sessionOf(c)), v, status))
	}
	return s.redirectWithFlash(c, "/orgs/"+strconv.FormatInt(orgID, 10), views.FlashOK, status)
}

// handleRevoke withdraws a pending invitation through the same
// RevokeInvitation as the API.
func (s *Server) handleRevoke(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	username := c.Param("username")
	back := "/orgs/" + strconv.FormatInt(orgID, 10)
	if err := s.svc.RevokeInvitation(c.Request().Context(), a, orgID, username); err != nil {
		if !userFacing(err) || isHTMX(c) {
			return err // htmx: a status line in the status area
		}
		return s.redirectWithFlash(c, back, views.FlashError, guildhall.ErrorMessage(err))
	}
	status := "Revoked the invitation of " + username
	if !isHTMX(c) {
		return s.redirectWithFlash(c, back, views.FlashOK, status)
	}
	v, err := s.organizationView(c, a, orgID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RevokeResult(s.web.csrf.token(c, sessionOf(c)), v, status))
}

// handleResolveInvitation accepts or declines the user's invitation from
// the dashboard, through the same ResolveInvitation as the API.
func (s *Server) handleResolveInvitation(accept bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, _ := actorOf(c)
		orgID, err := parseID(c, "id", "organization")
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		if err := s.svc.ResolveInvitation(ctx, a, orgID, accept); err != nil {
			if !userFacing(err) {
				return err
			}
			return s.redirectWithFlash(c, "/", views.FlashError, guildhall.ErrorMessage(err))
		}
		if !accept {
			return s.redirectWithFlash(c, "/", views.FlashOK, "Invitation declined.")
		}
		org, role, err := s.svc.Organization(ctx, a, orgID)
		if err != nil {
			return err
		}
		return s.redirectWithFlash(c, "/orgs/"+strconv.FormatInt(orgID, 10), views.FlashOK,
			"Welcome to "+org.Name+": you joined as "+string(role)+".")
	}
}
