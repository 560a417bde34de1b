package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// paramKind is the JSON type a parameter takes.
type paramKind int

const (
	kindString paramKind = iota
	kindInt
	kindBool
	kindAuth
)

// String names the kind as error messages and /api/help show it.
func (k paramKind) String() string {
	return [...]string{"a string", "an integer", "a boolean", "an auth object"}[k]
}

// authKind says what credentials a function needs. It is derived from the
// function's entry (see function.auth), never declared on its own.
type authKind int

const (
	authNone     authKind = iota // anyone may call it
	authAny                      // an API key or a password
	authPassword                 // a password: guildhall.RequirePassword refuses API keys
)

// param describes one parameter of an API function.
type param struct {
	Name        string
	Kind        paramKind
	Required    bool
	Default     any // shown in help and used when an optional parameter is absent
	Description string
}

// function is one entry of the registry: what it takes, and what it does.
// The same entry validates calls, dispatches them and documents them in
// /api/help, so the help cannot drift from behaviour.
type function struct {
	Name        string
	Description string
	// public functions take no credentials (add_user).
	public bool
	// password names the password-only operation the function performs:
	// the dispatcher refuses it to an API key by guildhall.RequirePassword,
	// the rule the service applies too, and help says "password".
	password guildhall.PasswordOperation
	Params   []param
	call     func(c echo.Context, a guildhall.Actor, args args) (any, error)
}

// auth is what credentials the function needs, as its entry says.
func (fn *function) auth() authKind {
	switch {
	case fn.public:
		return authNone
	case fn.password != "":
		return authPassword
	}
	return authAny
}

// args holds a call's decoded arguments by name; decode has checked every
// type, so the accessors cannot fail.
type args struct {
	values map[string]any
	auth   *guildhall.Credentials
}

func (a args) String(name string) string { v, _ := a.values[name].(string); return v }
func (a args) Int(name string) int64     { v, _ := a.values[name].(int64); return v }
func (a args) Bool(name string) bool     { v, _ := a.values[name].(bool); return v }

// has reports whether an optional parameter without a default was given.
func (a args) has(name string) bool { _, ok := a.values[name]; return ok }

// hasAny reports whether any of the optional parameters was given.
func (a args) hasAny(names ...string) bool { return slices.ContainsFunc(names, a.has) }

// Role reads a role parameter. The domain's refusal speaks of a role, as a
// person filling in a form knows it; the message names the parameter the
// API caller sent.
func (a args) Role(name string) (guildhall.Role, error) {
	r, err := guildhall.ParseRole(a.String(name))
	return r, namedParam(name, err)
}

// Subset reads the parameter that selects which memberships to list.
func (a args) Subset(name string) (guildhall.MembershipSubset, error) {
	v, err := guildhall.ParseMembershipSubset(a.String(name))
	return v, namedParam(name, err)
}

// namedParam puts the parameter's name before a domain refusal of its value.
func namedParam(name string, err error) error {
	if err == nil {
		return nil
	}
	return guildhall.Errorf(guildhall.ErrorCode(err), "Parameter %q: %s", name, guildhall.ErrorMessage(err))
}

// decode checks raw arguments against the function's parameters: every key
// must be known (auth included, for functions that take it), required ones
// present, each of the right type. JSON null counts as absent.
func (fn *function) decode(raw map[string]json.RawMessage) (args, error) {
	out := args{values: map[string]any{}}
	for name, value := range raw {
		if name == "auth" && fn.auth() != authNone {
			if jsonType(value) == "null" {
				continue
			}
			creds, err := decodeAuth(value)
			if err != nil {
				return out, err
			}
			out.auth = creds
			continue
		}
		i := slices.IndexFunc(fn.Params, func(p param) bool { return p.Name == name })
		if i < 0 {
			return out, guildhall.Errorf(guildhall.EINVALID, "Unknown parameter %q for %s; GET /api/help/%s lists its parameters.", name, fn.Name, fn.Name)
		}
		if jsonType(value) == "null" {
			continue
		}
		v, err := decodeValue(name, fn.Params[i].Kind, value)
		if err != nil {
			return out, err
		}
		out.values[name] = v
	}
	for _, p := range fn.Params {
		if _, ok := out.values[p.Name]; ok {
			continue
		}
		if p.Required {
			return out, guildhall.Errorf(guildhall.EINVALID, "Missing required parameter %q (%s) for %s.", p.Name, p.Kind, fn.Name)
		}
		if p.Default != nil {
			out.values[p.Name] = p.Default
		}
	}
	return out, nil
}

// Result shapes, with QueryLake's field names; times are Unix seconds.
type (
	userResult struct {
		Username    string         `json:"username"`
		Memberships membershipList `json:"memberships"`
		Admin       bool           `json:"admin"`
	}
	// loginResult is a user with the first page of their memberships, and
	// the cursor that reads on with fetch_memberships.
	loginResult struct {
		userResult
		NextCursor *string `json:"next_cursor"`
	}
	membershipResult struct {
		OrganizationID   int64          `json:"organization_id"`
		OrganizationName string         `json:"organization_name"`
		Role             guildhall.Role `json:"role"`
		Username         string         `json:"username,omitempty"`
		InviteStillOpen  bool           `json:"invite_still_open"`
		Sender           string         `json:"sender,omitempty"`
		Expires          *int64         `json:"expires,omitempty"`
	}
	apiKeyResult struct {
		APIKey     string `json:"api_key,omitempty"`
		ID         int64  `json:"id"`
		Title      string `json:"title"`
		Created    int64  `json:"created"`
		LastUsed   *int64 `json:"last_used"`
		KeyPreview string `json:"key_preview"`
	}
	auditEventResult struct {
		ID      int64  `json:"id"`
		Time    int64  `json:"time"`
		Actor   string `json:"actor"`
		Action  string `json:"action"`
		Target  string `json:"target"`
		Role    string `json:"role,omitempty"`
		OldRole string `json:"old_role,omitempty"`
		OldName string `json:"old_name,omitempty"`
	}
)

func unixOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.Unix()
	return &v
}

func membershipResults(ms []guildhall.Membership, withUsername bool) membershipList {
	out := make(membershipList, 0, len(ms))
	for _, m := range ms {
		r := membershipResult{
			OrganizationID: m.OrganizationID, OrganizationName: m.OrganizationName, Role: m.Role,
			InviteStillOpen: m.Open(),
		}
		if withUsername {
			r.Username = m.Username
		}
		if m.Open() {
			r.Sender, r.Expires = m.Sender, unixOrNil(m.Expires)
		}
		out = append(out, r)
	}
	return out
}

func apiKeyResultOf(k guildhall.APIKey, secret string) apiKeyResult {
	return apiKeyResult{APIKey: secret, ID: k.ID, Title: k.Title, Created: k.Created.Unix(),
		LastUsed: unixOrNil(k.LastUsed), KeyPreview: k.Preview}
}

// Parameters shared by several functions.
var (
	paramOrganizationID = param{Name: "organization_id", Kind: kindInt, Required: true, Description: "The ID of the organization."}
	paramUsername       = param{Name: "username", Kind: kindString, Required: true, Description: "The member's username."}
	// Every list is paged: limit rows from the cursor of the page before.
	paramLimit  = param{Name: "limit", Kind: kindInt, Description: fmt.Sprintf("Rows in the page, 1 to %d (absent or 0: %d).", guildhall.ListMaxLimit, guildhall.ListDefaultLimit)}
	paramCursor = param{Name: "cursor", Kind: kindString, Description: "The next_cursor of the page before; absent for the first page. A page costs the same wherever it is in the list."}
)

// limit reads a list's page size: ListDefaultLimit when absent or 0, as
// given otherwise (the service refuses one out of range). int64 to int is
// exact on the 64-bit platforms we build for.
func (a args) limit() int {
	if n := int(a.Int("limit")); n != 0 {
		return n
	}
	return guildhall.ListDefaultLimit
}

// nextCursor is a page's next_cursor: null on the last page.
func nextCursor(c string) *string {
	if c == "" {
		return nil
	}
	return &c
}

// registry lists every API function. Order is the order /api/help shows.
func (s *Server) registry() []*function {
	svc := s.svc
	return []*function{
		{
			Name: "add_user", Description: "Sign up a new user.", public: true,
			Params: []param{
				{Name: "username", Kind: kindString, Required: true, Description: "1 to 32 characters from a-z, 0-9, '_', '.', '-', at least one letter or digit."},
				{Name: "password", Kind: kindString, Required: true, Description: "8 to 256 characters (at most 1,024 bytes)."},
			},
			call: func(c echo.Context, _ guildhall.Actor, a args) (any, error) {
				u, err := svc.SignUp(c.Request().Context(), a.String("username"), a.String("password"), c.RealIP())
				if err != nil {
					return nil, err
				}
				return userResult{Username: u.Username, Memberships: membershipList{}, Admin: u.Admin}, nil
			},
		},
		{
			Name: "login", Description: fmt.Sprintf("Check a username and password; returns the user and the first %d of their memberships (next_cursor reads on with fetch_memberships, return_subset \"all\").", guildhall.ListDefaultLimit), password: guildhall.OpLogIn,
			call: func(c echo.Context, actor guildhall.Actor, _ args) (any, error) {
				page, err := svc.LoginMemberships(c.Request().Context(), actor)
				if err != nil {
					return nil, err
				}
				return loginResult{userResult{Username: actor.Username, Memberships: membershipResults(page.Memberships, false), Admin: actor.Admin},
					nextCursor(page.NextCursor)}, nil
			},
		},
		{
			Name: "create_api_key", Description: "Create an API key; the key is shown in this answer only.", password: guildhall.OpCreateAPIKey,
			Params: []param{{Name: "title", Kind: kindString, Default: "", Description: "A name to recognise the key by."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				k, secret, err := svc.CreateAPIKey(c.Request().Context(), actor, a.String("title"))
				if err != nil {
					return nil, err
				}
				return apiKeyResultOf(k, secret), nil
			},
		},
		{
			Name: "fetch_api_keys", Description: "List your API keys (previews only).", password: guildhall.OpListAPIKeys,
			call: func(c echo.Context, actor guildhall.Actor, _ args) (any, error) {
				keys, err := svc.ListAPIKeys(c.Request().Context(), actor)
				if err != nil {
					return nil, err
				}
				out := make([]apiKeyResult, 0, len(keys))
				for _, k := range keys {
					out = append(out, apiKeyResultOf(k, ""))
				}
				return map[string]any{"api_keys": out}, nil
			},
		},
		{
			Name: "delete_api_key", Description: "Revoke one of your API keys.", password: guildhall.OpDeleteAPIKey,
			Params: []param{{Name: "api_key_id", Kind: kindInt, Required: true, Description: "The id from create_api_key or fetch_api_keys."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.DeleteAPIKey(c.Request().Context(), actor, a.Int("api_key_id"))
			},
		},
		{
			Name: "create_organization", Description: "Create an organization with you as its owner.",
			Params: []param{
				{Name: "organization_name", Kind: kindString, Required: true, Description: "1 to 100 characters."},
				{Name: "organization_description", Kind: kindString, Default: "", Description: "Up to 2000 characters."},
			},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				org, err := svc.CreateOrganization(c.Request().Context(), actor, a.String("organization_name"), a.String("organization_description"))
				if err != nil {
					return nil, err
				}
				return map[string]any{"organization_id": org.ID, "organization_name": org.Name}, nil
			},
		},
		{
			Name:        "invite_user_to_organization",
			Description: "Invite a user to an organization. Owners may grant any role; others only roles ranked below their own. Inviting someone already a member or already invited is a conflict.",
			Params: []param{
				{Name: "username_to_invite", Kind: kindString, Required: true, Description: "The username of the user to invite."},
				paramOrganizationID,
				{Name: "member_class", Kind: kindString, Default: string(guildhall.DefaultInviteRole), Description: "The role to grant: owner, admin, member or viewer."},
			},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				role, err := a.Role("member_class")
				if err != nil {
					return nil, err
				}
				_, err = svc.InviteUser(c.Request().Context(), actor, a.Int("organization_id"), a.String("username_to_invite"), role)
				return nil, err
			},
		},
		{
			Name: "resolve_organization_invitation", Description: "Accept or decline your invitation to an organization.",
			Params: []param{paramOrganizationID, {Name: "accept", Kind: kindBool, Required: true, Description: "true to accept, false to decline."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.ResolveInvitation(c.Request().Context(), actor, a.Int("organization_id"), a.Bool("accept"))
			},
		},
		{
			Name: "fetch_memberships", Description: "List your memberships, open invitations, or both, a page at a time in the order they were made.",
			Params: []param{
				{Name: "return_subset", Kind: kindString, Default: string(guildhall.SubsetAccepted), Description: "\"accepted\", \"open_invitations\" or \"all\"."},
				paramLimit, paramCursor,
			},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				subset, err := a.Subset("return_subset")
				if err != nil {
					return nil, err
				}
				page, err := svc.ListMemberships(c.Request().Context(), actor, guildhall.MembershipsQuery{Subset: subset, Cursor: a.String("cursor"), Limit: a.limit()})
				if err != nil {
					return nil, err
				}
				return struct {
					Memberships membershipList `json:"memberships"`
					Admin       bool           `json:"admin"`
					NextCursor  *string        `json:"next_cursor"`
				}{membershipResults(page.Memberships, false), actor.Admin, nextCursor(page.NextCursor)}, nil
			},
		},
		{
			Name: "fetch_memberships_of_organization",
			Description: fmt.Sprintf("List an organization's members and open invitations (members only), a page at a time: "+
				"the first %d when called with the organization alone; limit, cursor, search, status, role, sort and offset choose another page.", guildhall.ListDefaultLimit),
			Params: []param{paramOrganizationID,
				{Name: "search", Kind: kindString, Description: "Only usernames containing this."},
				{Name: "status", Kind: kindString, Description: "\"active\", \"invited\" (open invitations), \"expired\" or \"all\" (expired and all: owners and admins); absent: active and invited."},
				{Name: "role", Kind: kindString, Description: "Only this role: owner, admin, member or viewer."},
				{Name: "sort", Kind: kindString, Description: "\"name\" or \"joined\" (most recent first); absent: open invitations first, then by role, highest first, then by username."},
				paramLimit, paramCursor,
				{Name: "offset", Kind: kindInt, Description: "Rows to skip from the start, instead of a cursor: it costs as many rows as it skips."},
			},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				status, err := guildhall.ParseMemberFilter(a.String("status"))
				if err != nil {
					return nil, namedParam("status", err)
				}
				sort, err := guildhall.ParseMemberSort(a.String("sort"))
				if err != nil {
					return nil, namedParam("sort", err)
				}
				var role guildhall.Role
				if a.has("role") {
					if role, err = a.Role("role"); err != nil {
						return nil, err
					}
				}
				page, err := svc.ListMembersPage(c.Request().Context(), actor, a.Int("organization_id"), guildhall.MembersQuery{
					Search: a.String("search"), Status: status, Role: role, Sort: sort,
					Cursor: a.String("cursor"), Offset: int(a.Int("offset")), Limit: a.limit()})
				if err != nil {
					return nil, err
				}
				result := membersPageResult{Memberships: membershipResults(page.Members, true), NextCursor: nextCursor(page.NextCursor)}
				if a.hasAny("search", "status", "role", "sort", "limit", "cursor", "offset") { // say where the page is
					result.Paged, result.Limit = true, page.Limit
					if page.Counted() {
						result.Total = &page.Total
					}
					if page.Cursor == "" {
						result.Offset = &page.Offset
					}
				}
				return result, nil
			},
		},
		{
			Name: "change_organization_member_role", Description: "Change an active member's role.",
			Params: []param{paramOrganizationID, paramUsername, {Name: "member_class", Kind: kindString, Required: true, Description: "The new role."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				role, err := a.Role("member_class")
				if err != nil {
					return nil, err
				}
				return nil, svc.ChangeMemberRole(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"), role)
			},
		},
		{
			Name: "revoke_organization_invitation", Description: "Withdraw a pending invitation.",
			Params: []param{paramOrganizationID, paramUsername},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.RevokeInvitation(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
			},
		},
		{
			Name: "remove_organization_member", Description: "Remove a member, or leave (name yourself).",
			Params: []param{paramOrganizationID, paramUsername},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.RemoveMember(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
			},
		},
		{
			Name: "fetch_organization_audit_log", Description: "The organization's membership changes, newest first, a page at a time (owners and admins).",
			Params: []param{paramOrganizationID, paramLimit, paramCursor},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				page, err := svc.ListAuditLog(c.Request().Context(), actor, a.Int("organization_id"), guildhall.AuditQuery{Cursor: a.String("cursor"), Limit: a.limit()})
				if err != nil {
					return nil, err
				}
				out := make([]auditEventResult, 0, len(page.Events))
				for _, e := range page.Events {
					out = append(out, auditEventResult{ID: e.ID, Time: e.Time.Unix(), Actor: e.Actor, Action: e.Action, Target: e.Target,
						Role: string(e.Role), OldRole: string(e.OldRole), OldName: e.OldName})
				}
				return map[string]any{"events": out, "next_cursor": nextCursor(page.NextCursor)}, nil
			},
		},
		{
			Name: "leave_organization", Description: "Leave an organization. The last owner must transfer ownership first.",
			Params: []param{paramOrganizationID},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.LeaveOrganization(c.Request().Context(), actor, a.Int("organization_id"))
			},
		},
		{
			Name: "transfer_organization_ownership", Description: "Make an active member owner; you become admin (owners only).",
			Params: []param{paramOrganizationID, {Name: "username", Kind: kindString, Required: true, Description: "The active member who becomes owner."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.TransferOwnership(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
			},
		},
		{
			Name: "update_organization", Description: "Rename an organization or change its description (owners and admins).",
			Params: []param{paramOrganizationID,
				{Name: "organization_name", Kind: kindString, Description: "The new name, 1 to 100 characters."},
				{Name: "organization_description", Kind: kindString, Description: "The new description, up to 2000 characters (\"\" clears it)."},
			},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				var name, description *string
				if a.has("organization_name") {
					name = new(a.String("organization_name"))
				}
				if a.has("organization_description") {
					description = new(a.String("organization_description"))
				}
				_, err := svc.UpdateOrganization(c.Request().Context(), actor, a.Int("organization_id"), name, description)
				return nil, err
			},
		},
		{
			Name: "delete_organization", Description: "Delete an organization with its memberships, invitations and audit trail (owners only).",
			Params: []param{paramOrganizationID, {Name: "confirm_name", Kind: kindString, Required: true, Description: "The organization's current name, typed to confirm."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.DeleteOrganization(c.Request().Context(), actor, a.Int("organization_id"), a.String("confirm_name"))
			},
		},
		{
			Name: "resend_organization_invitation", Description: "Renew a pending invitation, open or expired, with a new expiry from now.",
			Params: []param{paramOrganizationID, paramUsername},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				_, err := svc.ResendInvitation(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
				return nil, err
			},
		},
		{
			Name: "change_password", Description: "Change your password; every browser session of yours is signed out (API keys stay).", password: guildhall.OpChangePassword,
			Params: []param{{Name: "new_password", Kind: kindString, Required: true, Description: "8 to 256 characters."}},
			call: func(c echo.Context, actor guildhall.Actor, a args) (any, error) {
				return nil, svc.ChangePassword(c.Request().Context(), actor, a.String("new_password"))
			},
		},
		{
			Name: "decline_all_invitations", Description: "Decline every open invitation addressed to you.",
			call: func(c echo.Context, actor guildhall.Actor, _ args) (any, error) {
				n, err := svc.DeclineAllInvitations(c.Request().Context(), actor)
				if err != nil {
					return nil, err
				}
				return map[string]any{"declined": n}, nil
			},
		},
	}
}

// helpEntry is one function as /api/help describes it.
type helpEntry struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Auth        string      `json:"auth"`
	Parameters  []helpParam `json:"parameters"`
}

type helpParam struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description"`
}

func (fn *function) help() helpEntry {
	e := helpEntry{Name: fn.Name, Description: fn.Description, Parameters: []helpParam{}}
	e.Auth = [...]string{"none", "api_key or password", "password"}[fn.auth()]
	if fn.auth() != authNone {
		e.Parameters = append(e.Parameters, helpParam{Name: "auth", Type: "object", Required: false,
			Description: "{\"api_key\": \"sk-...\"} or {\"username\": ..., \"password\": ...}; without it, the Authorization: Bearer header is used."})
	}
	for _, p := range fn.Params {
		typ := map[paramKind]string{kindString: "string", kindInt: "integer", kindBool: "boolean", kindAuth: "object"}[p.Kind]
		e.Parameters = append(e.Parameters, helpParam{Name: p.Name, Type: typ, Required: p.Required, Default: p.Default, Description: p.Description})
	}
	return e
}

// handleHelp lists every function, or describes one.
func (s *Server) handleHelp(c echo.Context) error {
	if name := c.Param("function"); name != "" {
		fn, ok := s.functions[name]
		if !ok {
			return guildhall.Errorf(guildhall.ENOTFOUND, "There is no API function named %q.", name)
		}
		return c.JSON(http.StatusOK, success{Success: true, Result: fn.help()})
	}
	out := make([]helpEntry, 0, len(s.functionOrder))
	for _, fn := range s.functionOrder {
		out = append(out, fn.help())
	}
	return c.JSON(http.StatusOK, success{Success: true, Result: map[string]any{"functions": out}})
}

// handlePing answers QueryLake's liveness check.
func (s *Server) handlePing(c echo.Context) error {
	return c.JSON(http.StatusOK, success{Success: true, Note: "Pong"})
}
