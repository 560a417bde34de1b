package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The dashboard and the organization pages.

// auditPageLimit is how many audit events the organization page shows.
const auditPageLimit = 20

// dashboardPageSize is how many organizations, and how many invitations,
// the dashboard shows at once; "More" links read on.
const dashboardPageSize = 50

// handleDashboard lists the user's organizations and open invitations, a
// page of each: ?orgs= and ?invitations= carry the cursors of the pages
// after the first. A cursor that does not fit (the list changed shape, or
// the link was damaged) shows that list from its start.
func (s *Server) handleDashboard(c echo.Context) error {
	a, _ := actorOf(c)
	ctx := c.Request().Context()
	d := views.Dashboard{Now: time.Now(), OrgsCursor: c.QueryParam("orgs"), InvitationsCursor: c.QueryParam("invitations")}
	for _, list := range []struct {
		subset guildhall.MembershipSubset
		cursor *string
		rows   *[]guildhall.Membership
		next   *string
	}{
		{guildhall.SubsetAccepted, &d.OrgsCursor, &d.Memberships, &d.MoreOrgs},
		{guildhall.SubsetOpenInvitations, &d.InvitationsCursor, &d.Invitations, &d.MoreInvitations},
	} {
		q := guildhall.MembershipsQuery{Subset: list.subset, Cursor: *list.cursor, Limit: dashboardPageSize}
		page, err := s.svc.ListMemberships(ctx, a, q)
		if guildhall.ErrorCode(err) == guildhall.EINVALID && q.Cursor != "" {
			q.Cursor, *list.cursor = "", ""
			page, err = s.svc.ListMemberships(ctx, a, q)
		}
		if err != nil {
			return err
		}
		*list.rows, *list.next = page.Memberships, page.NextCursor
	}
	return render(c, http.StatusOK, views.DashboardPage(s.pageTakingFlashes(c, "Your organizations", "orgs"), d))
}

// handleNewOrganizationPage shows the create-organization form, with what
// was sent and why it was refused after a failed post.
func (s *Server) handleNewOrganizationPage(c echo.Context) error {
	var f views.NewOrganizationForm
	if values, refusal, ok := s.takeForm(c, "new-org"); ok {
		f = views.NewOrganizationForm{Name: values.Get("organization_name"), Description: values.Get("organization_description"), Error: refusal}
	}
	return render(c, http.StatusOK, views.NewOrganizationPage(s.pageTakingFlashes(c, "New organization", "orgs"), f))
}

// handleCreateOrganization founds an organization through the same
// CreateOrganization as the API. A refusal goes back to the form.
func (s *Server) handleCreateOrganization(c echo.Context) error {
	a, _ := actorOf(c)
	name, description := formValue(c, "organization_name"), formValue(c, "organization_description")
	org, err := s.svc.CreateOrganization(c.Request().Context(), a, name, description)
	if err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectWithForm(c, "/orgs/new", "new-org", err, url.Values{"organization_name": {name}, "organization_description": {description}})
	}
	return s.redirectNear(c, views.OrgURL(org.ID), views.NearInvite, views.FlashOK,
		"Created "+org.Name+". You are its owner; invite people here.")
}

// membersListQuery reads what the member list shows from the page's URL:
// ?q= searches usernames, ?status= and ?role= filter, ?sort= orders, and
// ?cursor= is the page (the pager's links carry it). An htmx request comes
// from the page, whose URL htmx sends in HX-Current-URL: the list it
// answers with keeps the filters and the page the person was looking at.
func membersListQuery(c echo.Context) views.MembersListQuery {
	values := c.QueryParams()
	if isHTMX(c) {
		if u, err := url.Parse(c.Request().Header.Get("HX-Current-URL")); err == nil {
			values = u.Query()
		}
	}
	return views.MembersListQuery{
		Search: values.Get("q"),
		Status: guildhall.MemberFilter(values.Get("status")),
		Role:   guildhall.Role(values.Get("role")),
		Sort:   guildhall.MemberSort(values.Get("sort")),
		Cursor: values.Get("cursor"),
	}
}

// organizationView gathers the organization page in one service call
// (one read transaction): the organization, the viewer's role, the page of
// the member list the URL asks for and, for those guildhall.CanReadAuditLog
// lets read it, the latest audit events. A cursor that no longer fits the
// list (its filters changed, or the link was damaged) shows the first page
// and says so.
func (s *Server) organizationView(c echo.Context, a guildhall.Actor, orgID int64) (views.OrganizationView, error) {
	ctx := c.Request().Context()
	list := membersListQuery(c)
	q := guildhall.MembersQuery{Search: list.Search, Status: list.Status, Role: list.Role, Sort: list.Sort,
		Cursor: list.Cursor, Limit: guildhall.MembersPageSize}
	p, err := s.svc.OrganizationPage(ctx, a, orgID, q, auditPageLimit)
	stale := false
	if guildhall.ErrorCode(err) == guildhall.EINVALID && q.Cursor != "" {
		q.Cursor, list.Cursor, stale = "", "", true
		p, err = s.svc.OrganizationPage(ctx, a, orgID, q, auditPageLimit)
	}
	if err != nil {
		return views.OrganizationView{}, err
	}
	return views.OrganizationView{Org: p.Org, Role: p.Role, Me: a.Username, Members: p.Members.Members, MembersPage: p.Members,
		List: list, Now: p.Members.AsOf, Audit: p.Audit, AuditTruncated: p.AuditMore, StaleCursor: stale}, nil
}

// handleOrganization shows one organization, with the invite forms as a
// no-JavaScript invitation left them (the single form refused, or the bulk
// form with each row's outcome).
func (s *Server) handleOrganization(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	v, err := s.organizationView(c, a, orgID)
	if err != nil {
		return err
	}
	if values, refusal, ok := s.takeForm(c, views.NearInvite); ok {
		v.Invite = views.InviteForm{Username: values.Get("username_to_invite"), Role: guildhall.Role(values.Get("member_class")), Error: refusal}
	}
	if values, refusal, ok := s.takeForm(c, bulkInviteForm); ok {
		v.Bulk = bulkFormFrom(values, refusal)
	}
	return render(c, http.StatusOK, views.OrganizationPage(s.pageTakingFlashes(c, v.Org.Name, "orgs"), v))
}

// settingsView gathers the settings page, with the forms as a refused
// post left them.
func (s *Server) settingsView(c echo.Context, a guildhall.Actor, orgID int64) (views.SettingsView, error) {
	org, role, err := s.svc.Organization(c.Request().Context(), a, orgID)
	v := views.SettingsView{Org: org, Role: role}
	if values, refusal, ok := s.takeForm(c, views.NearDetails); ok {
		v.Details = views.DetailsForm{Name: values.Get("organization_name"), Description: values.Get("organization_description"), Error: refusal}
	}
	if values, refusal, ok := s.takeForm(c, views.NearTransfer); ok {
		v.TransferTo, v.TransferError = values.Get("username"), refusal
	}
	return v, err
}

// handleSettings shows an organization's settings.
func (s *Server) handleSettings(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	v, err := s.settingsView(c, a, orgID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SettingsPage(s.pageTakingFlashes(c, "Settings of "+v.Org.Name, "orgs"), v))
}

// handleUpdateOrganization renames and describes an organization through
// the same UpdateOrganization as update_organization.
func (s *Server) handleUpdateOrganization(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	name, description := formValue(c, "organization_name"), formValue(c, "organization_description")
	back := views.OrgActionURL(orgID, "settings")
	if _, err := s.svc.UpdateOrganization(c.Request().Context(), a, orgID, &name, &description); err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectWithForm(c, back, views.NearDetails, err, url.Values{"organization_name": {name}, "organization_description": {description}})
	}
	return s.redirectNear(c, back, views.NearDetails, views.FlashOK, "Saved.")
}

// handleTransferConfirm asks before handing an organization over to the
// member named in ?username=.
func (s *Server) handleTransferConfirm(c echo.Context) error {
	orgID, org, err := s.orgForConfirm(c)
	if err != nil {
		return err
	}
	username := guildhall.FoldUsername(c.QueryParam("username"))
	if username == "" {
		return guildhall.Errorf(guildhall.EINVALID, "Name the member who should become owner.")
	}
	return s.confirm(c, views.OrgActionURL(orgID, "transfer"), views.Confirmation{
		Title:   "Make " + username + " the owner of " + org.Name + "?",
		Message: username + " becomes an owner, and you become an admin: you can no longer delete " + org.Name + " or hand it over.",
		Button:  "Transfer ownership", Back: views.OrgActionURL(orgID, "settings"),
		Fields: []views.HiddenField{{Name: "username", Value: username}},
	})
}

// handleTransfer hands an organization over through the same
// TransferOwnership as transfer_organization_ownership.
func (s *Server) handleTransfer(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	username := formValue(c, "username")
	if err := s.svc.TransferOwnership(c.Request().Context(), a, orgID, username); err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectWithForm(c, views.OrgActionURL(orgID, "settings"), views.NearTransfer, err, url.Values{"username": {username}})
	}
	return s.redirectNear(c, views.OrgURL(orgID), views.NearMembers, views.FlashOK,
		guildhall.FoldUsername(username)+" is now an owner; you are an admin.")
}

// handleLeaveConfirm asks before leaving an organization.
func (s *Server) handleLeaveConfirm(c echo.Context) error {
	orgID, org, err := s.orgForConfirm(c)
	if err != nil {
		return err
	}
	return s.confirm(c, views.OrgActionURL(orgID, "leave"), views.Confirmation{
		Title:   "Leave " + org.Name + "?",
		Message: "You lose access to " + org.Name + " at once; someone must invite you again for you to come back.",
		Button:  "Leave " + org.Name, Back: views.OrgURL(orgID),
	})
}

// handleLeave leaves through the same LeaveOrganization as leave_organization.
func (s *Server) handleLeave(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	org, _, err := s.svc.Organization(ctx, a, orgID)
	if err == nil {
		err = s.svc.LeaveOrganization(ctx, a, orgID)
	}
	if err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectNear(c, views.OrgURL(orgID), views.NearMembers, views.FlashError, guildhall.ErrorMessage(err))
	}
	return s.redirectWithFlash(c, "/", views.FlashOK, "You left "+org.Name+".")
}

// handleDeleteConfirm asks an owner to type the organization's name
// before deleting it; a refused deletion comes back here with its message.
func (s *Server) handleDeleteConfirm(c echo.Context) error {
	orgID, org, err := s.orgForConfirm(c)
	if err != nil {
		return err
	}
	conf := views.Confirmation{
		Title:   "Delete " + org.Name + "?",
		Message: "Its members, invitations and audit trail are deleted with it. This cannot be undone.",
		Button:  "Delete this organization", Back: views.OrgActionURL(orgID, "settings"), TypeName: org.Name,
	}
	if _, refusal, ok := s.takeForm(c, "delete"); ok {
		conf.Error = refusal
	}
	return s.confirm(c, views.OrgActionURL(orgID, "delete"), conf)
}

// handleDelete deletes through the same DeleteOrganization as
// delete_organization.
func (s *Server) handleDelete(c echo.Context) error {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return err
	}
	typed := formValue(c, "confirm_name")
	if err := s.svc.DeleteOrganization(c.Request().Context(), a, orgID, typed); err != nil {
		if !userFacing(err) || guildhall.ErrorCode(err) != guildhall.EINVALID {
			return err
		}
		return s.redirectWithForm(c, views.OrgActionURL(orgID, "delete"), "delete", err, nil)
	}
	return s.redirectWithFlash(c, "/", views.FlashOK, "Deleted "+strings.TrimSpace(typed)+".")
}

// orgForConfirm reads the organization a confirmation asks about: the
// visitor must be a member to be asked anything about it.
func (s *Server) orgForConfirm(c echo.Context) (int64, guildhall.Organization, error) {
	a, _ := actorOf(c)
	orgID, err := parseID(c, "id", "organization")
	if err != nil {
		return 0, guildhall.Organization{}, err
	}
	org, _, err := s.svc.Organization(c.Request().Context(), a, orgID)
	return orgID, org, err
}
