package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The dashboard and the organization pages.

// auditPageLimit is how many audit events the organization page shows.
const auditPageLimit = 20

// handleDashboard lists the user's organizations and open invitations.
func (s *Server) handleDashboard(c echo.Context) error {
	a, _ := actorOf(c)
	ctx := c.Request().Context()
	all, err := s.svc.FetchMemberships(ctx, a, guildhall.SubsetAll)
	if err != nil {
		return err
	}
	d := views.Dashboard{Now: time.Now()}
	for _, m := range all {
		if m.Open() {
			d.Invitations = append(d.Invitations, m)
		} else {
			d.Memberships = append(d.Memberships, m)
		}
	}
	return render(c, http.StatusOK, views.DashboardPage(s.pageTakingFlashes(c, "Your organizations", "orgs"), d))
}

// handleNewOrganizationPage shows the create-organization form.
func (s *Server) handleNewOrganizationPage(c echo.Context) error {
	return render(c, http.StatusOK, views.NewOrganizationPage(s.pageTakingFlashes(c, "New organization", "orgs"), views.NewOrganizationForm{}))
}

// handleCreateOrganization founds an organization through the same
// CreateOrganization as the API.
func (s *Server) handleCreateOrganization(c echo.Context) error {
	a, _ := actorOf(c)
	f := views.NewOrganizationForm{Name: formValue(c, "organization_name"), Description: formValue(c, "organization_description")}
	org, err := s.svc.CreateOrganization(c.Request().Context(), a, f.Name, f.Description)
	if err != nil {
		if !userFacing(err) {
			return err
		}
		f.Error = guildhall.ErrorMessage(err)
		return render(c, errorStatus(c, err), views.NewOrganizationPage(s.pageTakingFlashes(c, "New organization", "orgs"), f))
	}
	return s.redirectWithFlash(c, "/orgs/"+strconv.FormatInt(org.ID, 10), views.FlashOK,
		"Created "+org.Name+". You are its owner; invite people below.")
}

// maxMembersPageNumber bounds ?page= so the offset stays an int on any platform.
const maxMembersPageNumber = 1_000_000

// organizationView gathers the organization page. The audit trail is
// fetched for those guildhall.CanReadAuditLog lets read it, the rule the
// service applies and the view shows the section by.
func (s *Server) organizationView(c echo.Context, a guildhall.Actor, orgID int64) (views.OrganizationView, error) {
	ctx := c.Request().Context()
	org, role, err := s.svc.Organization(ctx, a, orgID)
	if err != nil {
		return views.OrganizationView{}, err
	}
	// The list is paged (a large organization has thousands of members):
	// ?q= searches usernames, ?page= counts from 1. After an htmx post the
	// query is empty, so the first page shows, with open invitations on top.
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	pageNo = max(1, min(pageNo, maxMembersPageNumber))
	members, err := s.svc.ListMembersPage(ctx, a, orgID, guildhall.MembersQuery{Search: c.QueryParam("q"), Offset: (pageNo - 1) * guildhall.MembersPageSize, Limit: guildhall.MembersPageSize})
	if err != nil {
		return views.OrganizationView{}, err
	}
	v := views.OrganizationView{Org: org, Role: role, Me: a.Username, Members: members.Members, MembersPage: members, Now: time.Now()}
	if guildhall.CanReadAuditLog(role) {
		if v.Audit, err = s.svc.AuditLog(ctx, a, orgID, auditPageLimit); err != nil {
			return views.OrganizationView{}, err
		}
		v.AuditTruncated = len(v.Audit) == auditPageLimit
	}
	return v, nil
}

// handleOrganization shows one organization.
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
	return render(c, http.StatusOK, views.OrganizationPage(s.pageTakingFlashes(c, v.Org.Name, "orgs"), v))
}
