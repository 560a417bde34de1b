package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The invitation actions: invite, resend and revoke from the organization
// page; accept, decline and decline all from the dashboard.

// handleInvite invites through the same InviteUser as
// invite_user_to_organization. With htmx the answer is swapped in place:
// on success the cleared form, the member list with the new row and the
// status line (200); on failure the form with the service's message and
// the input kept, under the failure's own status (htmx is configured to
// swap 4xx answers; see views.htmxConfig). Without JavaScript both
// redirect back to the organization page (Post/Redirect/Get): a success
// with a message beside the form, a failure with the form as it was sent
// and the message beside it.
func (s *Server) handleInvite(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	form := views.InviteForm{Username: strings.TrimSpace(formValue(c, "username_to_invite")), Focus: true}
	roleText := formValue(c, "member_class")
	var m guildhall.Membership
	if form.Username == "" {
		err = guildhall.Errorf(guildhall.EINVALID, "Enter the username of the person to invite.")
	} else {
		form.Role, err = inviteRole(roleText)
	}
	if err == nil {
		m, err = s.svc.InviteUser(c.Request().Context(), a, orgID, form.Username, form.Role)
	}
	if err != nil && !userFacing(err) {
		return err
	}
	if !isHTMX(c) {
		if err != nil {
			return s.redirectWithForm(c, views.OrgURL(orgID), views.NearInvite, err,
				url.Values{"username_to_invite": {form.Username}, "member_class": {roleText}})
		}
		return s.redirectNear(c, views.OrgURL(orgID), views.NearInvite, views.FlashOK, views.InviteStatus(m.Username, m.Role))
	}
	v, verr := s.organizationView(c, a, orgID)
	if verr != nil {
		return verr
	}
	if err != nil {
		form.Error = guildhall.ErrorMessage(err)
		v.Invite = form
		return render(c, errorStatus(c, err), views.InviteResult(s.web.csrf.token(c, sessionOf(c)), v, ""))
	}
	v.Invite = views.InviteForm{Focus: true}
	return render(c, http.StatusOK, views.InviteResult(s.web.csrf.token(c, sessionOf(c)), v, views.InviteStatus(m.Username, m.Role)))
}

// memberActionDone answers an action on the member list (a role change, a
// removal, a revoke, a resend) once the service has answered it: with
// htmx, the list as it now is with the status line beside it, or a
// refusal in that status line; without JavaScript, a redirect back to the
// list with either message there.
func (s *Server) memberActionDone(c echo.Context, orgID int64, err error, status string) error {
	if err != nil {
		if !userFacing(err) || isHTMX(c) {
			return err // htmx: handleError puts it beside the list
		}
		return s.redirectNear(c, views.OrgURL(orgID), views.NearMembers, views.FlashError, guildhall.ErrorMessage(err))
	}
	if !isHTMX(c) {
		return s.redirectNear(c, views.OrgURL(orgID), views.NearMembers, views.FlashOK, status)
	}
	a, _ := actorOf(c)
	v, err := s.organizationView(c, a, orgID)
	if err != nil {
		return err
	}
	v.FocusMembers = true
	return render(c, http.StatusOK, views.MembersResult(s.web.csrf.token(c, sessionOf(c)), v, status))
}

// memberAction reads the organization and username of an action on one
// row of the member list.
func memberAction(c echo.Context) (guildhall.Actor, int64, string, error) {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return a, 0, "", err
	}
	username, err := usernameParam(c)
	return a, orgID, username, err
}

// handleRevokeConfirm asks before withdrawing an invitation.
func (s *Server) handleRevokeConfirm(c echo.Context) error {
	orgID, org, err := s.orgForConfirm(c)
	if err != nil {
		return err
	}
	username, err := usernameParam(c)
	if err != nil {
		return err
	}
	return s.confirm(c, views.InvitationURL(orgID, username, "revoke"), views.Confirmation{
		Title:   "Revoke the invitation of " + username + "?",
		Message: username + " will no longer be able to join " + org.Name + " unless invited again.",
		Button:  "Revoke the invitation", Back: views.OrgURL(orgID), SwapMembers: true,
	})
}

// handleRevoke withdraws a pending invitation through the same
// RevokeInvitation as the API.
func (s *Server) handleRevoke(c echo.Context) error {
	a, orgID, username, err := memberAction(c)
	if err != nil {
		return err
	}
	err = s.svc.RevokeInvitation(c.Request().Context(), a, orgID, username)
	return s.memberActionDone(c, orgID, err, "Revoked the invitation of "+username)
}

// handleResend renews an invitation through the same ResendInvitation as
// resend_organization_invitation.
func (s *Server) handleResend(c echo.Context) error {
	a, orgID, username, err := memberAction(c)
	if err != nil {
		return err
	}
	m, err := s.svc.ResendInvitation(c.Request().Context(), a, orgID, username)
	return s.memberActionDone(c, orgID, err, "Renewed the invitation of "+username+"; it now expires on "+m.Expires.UTC().Format("2 Jan 2006")+".")
}

// handleResolveInvitation accepts the user's invitation from the
// dashboard, or declines it once confirmed, through the same
// ResolveInvitation as the API.
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
			return s.redirectNear(c, "/", views.NearInvitations, views.FlashError, guildhall.ErrorMessage(err))
		}
		if !accept {
			return s.redirectNear(c, "/", views.NearInvitations, views.FlashOK, "Invitation declined.")
		}
		org, role, err := s.svc.Organization(ctx, a, orgID)
		if err != nil {
			return err
		}
		return s.redirectWithFlash(c, views.OrgURL(orgID), views.FlashOK,
			"Welcome to "+org.Name+": you joined as "+string(role)+".")
	}
}

// handleDeclineConfirm asks before declining an invitation. Only the
// invitee has one to decline; the question names the organization as the
// invitation does.
func (s *Server) handleDeclineConfirm(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	m, err := s.svc.OpenInvitation(c.Request().Context(), a, orgID)
	if err != nil {
		return err
	}
	return s.confirm(c, views.ResolveURL(orgID, false), views.Confirmation{
		Title:   "Decline the invitation to " + m.OrganizationName + "?",
		Message: "You will not join " + m.OrganizationName + " unless someone invites you again.",
		Button:  "Decline", Back: "/",
	})
}

// handleDeclineAllConfirm asks before declining every open invitation.
func (s *Server) handleDeclineAllConfirm(c echo.Context) error {
	return s.confirm(c, views.DeclineAllURL, views.Confirmation{
		Title:   "Decline all your invitations?",
		Message: "Every invitation waiting for you is declined; you join none of those organizations unless invited again.",
		Button:  "Decline all", Back: "/",
	})
}

// handleDeclineAll declines every open invitation through the same
// DeclineAllInvitations as decline_all_invitations.
func (s *Server) handleDeclineAll(c echo.Context) error {
	a, _ := actorOf(c)
	n, err := s.svc.DeclineAllInvitations(c.Request().Context(), a)
	if err != nil {
		return err
	}
	return s.redirectNear(c, "/", views.NearInvitations, views.FlashOK, "Declined "+strconv.Itoa(n)+" invitations.")
}

// inviteRole reads an invite form's role: the default invitation role when
// the form names none, as the API's member_class defaults.
func inviteRole(text string) (guildhall.Role, error) {
	if text == "" {
		return guildhall.DefaultInviteRole, nil
	}
	return guildhall.ParseRole(text)
}
