package handlers

import (
	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The controls on an active member's row of the organization page: change
// the role, remove (once confirmed).

// handleChangeRole changes a member's role through the same
// ChangeMemberRole as change_organization_member_role.
func (s *Server) handleChangeRole(c echo.Context) error {
	a, orgID, username, err := memberAction(c)
	if err != nil {
		return err
	}
	role, err := guildhall.ParseRole(formValue(c, "member_class"))
	if err == nil {
		err = s.svc.ChangeMemberRole(c.Request().Context(), a, orgID, username, role)
	}
	return s.memberActionDone(c, orgID, err, username+" is now "+string(role)+".")
}

// handleRemoveConfirm asks before removing a member.
func (s *Server) handleRemoveConfirm(c echo.Context) error {
	orgID, org, err := s.orgForConfirm(c)
	if err != nil {
		return err
	}
	username, err := usernameParam(c)
	if err != nil {
		return err
	}
	return s.confirm(c, views.MemberURL(orgID, username, "remove"), views.Confirmation{
		Title:   "Remove " + username + " from " + org.Name + "?",
		Message: username + " loses access to " + org.Name + " at once, and can come back only if invited again.",
		Button:  "Remove " + username, Back: views.OrgURL(orgID), SwapMembers: true,
	})
}

// handleRemove removes a member through the same RemoveMember as
// remove_organization_member.
func (s *Server) handleRemove(c echo.Context) error {
	a, orgID, username, err := memberAction(c)
	if err != nil {
		return err
	}
	err = s.svc.RemoveMember(c.Request().Context(), a, orgID, username)
	return s.memberActionDone(c, orgID, err, "Removed "+username+".")
}
