package handlers

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// paramKind is the JSON type a parameter takes.
type paramKind int

const (
	kindString paramKind = iota
	kindInt              // a JSON integer, or its decimal digits in a string ("12"), as QueryLake's ids are
	kindBool
	kindList // an array of objects, each with the parameter's Fields
)

// String names the kind as error messages and /api/help show it.
func (k paramKind) String() string {
	return [...]string{"a string", "an integer", "a boolean", "an array of objects"}[k]
}

// authKind says what credentials a function needs. It is derived from the
// function's entry (see function.auth), never declared on its own.
type authKind int

const (
	authNone            authKind = iota // anyone may call it
	authAny                             // an API key, a sign-in token or a password
	authPassword                        // the password itself (guildhall.RequirePassword)
	authPasswordOrToken                 // a password or a sign-in token, never an API key
	authToken                           // a sign-in token (logout)
)

// String names what the function takes, as /api/help shows it.
func (k authKind) String() string {
	return [...]string{"none", "api_key, token or password", "password", "password or token", "token"}[k]
}

// effect is what a call does to the stored state, which decides how it
// treats an Idempotency-Key. Every function declares one.
type effect int

const (
	effectUnset effect = iota
	// reads change nothing: a retry is always safe, and an
	// Idempotency-Key is ignored.
	reads
	// writes run once per Idempotency-Key; a retry gets the first answer.
	writes
	// mintsSecret writes and answers with a new secret (a key, a token),
	// which is never stored anywhere in the clear, so its answer cannot be
	// kept for a retry: an Idempotency-Key is refused.
	mintsSecret
	// setsPassword writes a new password given among its arguments: an
	// Idempotency-Key is refused, as the key's fingerprint of the
	// arguments would keep a fast hash of the password for a day, and the
	// password's slow hash would run while the call holds the writer.
	setsPassword
)

// param describes one parameter of an API function. The same description
// decodes calls (types, enums, bounds) and documents them in /api/help,
// function_help and the OpenAPI document.
type param struct {
	Name        string
	Kind        paramKind
	Required    bool
	Default     any // shown in help and used when an optional parameter is absent
	Description string
	// Enum lists the only values a string parameter may take.
	Enum []string
	// Min and Max bound an integer, or a list's length; nil: unbounded.
	Min, Max *int64
	// MinLength, MaxLength and Pattern describe a string as the domain
	// checks it (in characters; 0 and "": not said). They document the
	// rule; the service enforces it, with its own words.
	MinLength, MaxLength int
	Pattern              string
	// Fields describe the objects of a kindList parameter.
	Fields []param
}

// bound is an integer bound for param.Min and param.Max.
func bound(n int64) *int64 { return &n }

// function is one entry of the registry: what it takes, what it answers
// and what it does. The same entry validates calls, dispatches them and
// documents them (/api/help, function_help, /api/openapi.json), so the
// documentation cannot drift from behaviour.
type function struct {
	Name        string
	Description string
	// public functions take no credentials (add_user).
	public bool
	// password names the password operation the function performs: the
	// dispatcher applies guildhall.RequirePassword, the rule the service
	// applies too, and help says "password" or "password or token".
	password guildhall.PasswordOperation
	// token marks logout, which needs the sign-in token it ends.
	token  bool
	effect effect
	Params []param
	// Refusals are the codes the function's own rules answer with,
	// beyond those any call can meet (see function.errorCodes).
	Refusals []string
	answer
}

// answer is what a function answers and how: result is the Go type of its
// result (nil: {"success": true} alone), whose JSON Schema the OpenAPI
// document carries, and call runs it. returns and nothing make both from
// one function, so the documented type is the type answered.
type answer struct {
	result reflect.Type
	call   func(c echo.Context, a guildhall.Actor, args args) (any, error)
}

// returns makes the answer of a function whose result is an R.
func returns[R any](call func(c echo.Context, a guildhall.Actor, args args) (R, error)) answer {
	return answer{result: reflect.TypeFor[R](), call: func(c echo.Context, a guildhall.Actor, args args) (any, error) {
		r, err := call(c, a, args)
		if err != nil {
			return nil, err
		}
		return r, nil
	}}
}

// nothing makes the answer of a function that answers {"success": true}.
func nothing(call func(c echo.Context, a guildhall.Actor, args args) error) answer {
	return answer{call: func(c echo.Context, a guildhall.Actor, args args) (any, error) {
		return nil, call(c, a, args)
	}}
}

// auth is what credentials the function needs, as its entry says.
func (fn *function) auth() authKind {
	switch {
	case fn.public:
		return authNone
	case fn.token:
		return authToken
	case fn.password != "" && guildhall.TokenMay(fn.password):
		return authPasswordOrToken
	case fn.password != "":
		return authPassword
	}
	return authAny
}

// errorCodes lists every code a call of fn can be answered with: those any
// call can meet, those its credentials and its effect bring, and its own
// Refusals, in the order of errorClasses' statuses.
func (fn *function) errorCodes() []string {
	codes := []string{guildhall.EINVALID, guildhall.ETOOLARGE, guildhall.EINTERNAL, guildhall.EUNAVAILABLE}
	switch fn.auth() {
	case authNone:
	case authAny, authPassword, authPasswordOrToken:
		// Password attempts are throttled (429).
		codes = append(codes, guildhall.EUNAUTHORIZED, guildhall.ERATELIMITED)
	default:
		codes = append(codes, guildhall.EUNAUTHORIZED)
	}
	if fn.auth() >= authPassword {
		codes = append(codes, guildhall.EFORBIDDEN) // the wrong kind of credential
	}
	if fn.effect == writes {
		codes = append(codes, guildhall.ECONFLICT, guildhall.EIDEMPOTENCY) // a retry while running; a reused key
	}
	codes = append(codes, fn.Refusals...)
	slices.SortFunc(codes, func(a, b string) int { return errorClasses[a].status - errorClasses[b].status })
	return slices.Compact(codes)
}

// args holds a call's decoded arguments by name; decode has checked every
// type, enum and bound, so the accessors cannot fail.
type args struct {
	values map[string]any
	auth   *guildhall.Credentials
}

func (a args) String(name string) string { v, _ := a.values[name].(string); return v }
func (a args) Int(name string) int64     { v, _ := a.values[name].(int64); return v }
func (a args) Bool(name string) bool     { v, _ := a.values[name].(bool); return v }

// List reads a kindList parameter: one decoded object per element.
func (a args) List(name string) []args {
	objects, _ := a.values[name].([]map[string]any)
	out := make([]args, len(objects))
	for i, o := range objects {
		out[i] = args{values: o}
	}
	return out
}

// Role reads a role parameter (decode has checked it against the roles).
func (a args) Role(name string) guildhall.Role { return guildhall.Role(a.String(name)) }

// has reports whether an optional parameter without a default was given.
func (a args) has(name string) bool { _, ok := a.values[name]; return ok }

// fingerprint identifies what a call asks for, for Idempotency-Key: its
// function and arguments with defaults filled in, without the credentials
// (a retry may authenticate differently, and a password must never reach
// a fast hash). JSON of maps has sorted keys, so equal arguments give
// equal bytes.
func (a args) fingerprint(function string) []byte {
	b, err := json.Marshal(a.values)
	if err != nil {
		panic("handlers: arguments that decode cannot fail to encode: " + err.Error())
	}
	sum := sha256.Sum256(append([]byte(function+"\x00"), b...))
	return sum[:]
}

// decode checks raw arguments against the function's parameters: every key
// must be known (auth included, for functions that take it), required ones
// present, each of the right type, within its enum and bounds. JSON null
// counts as absent.
func (fn *function) decode(raw map[string]json.RawMessage) (args, error) {
	out := args{}
	if value, ok := raw["auth"]; ok && fn.auth() != authNone {
		delete(raw, "auth")
		if jsonType(value) != "null" {
			creds, err := decodeAuth(value)
			if err != nil {
				return out, err
			}
			out.auth = creds
		}
	}
	values, err := decodeFields(fn.Params, raw, func(name string) error {
		return guildhall.Errorf(guildhall.EINVALID, "Unknown parameter %q for %s; GET /api/help/%s lists its parameters.", name, fn.Name, fn.Name)
	}, "", fn.Name)
	out.values = values
	return out, err
}

// decodeFields decodes one JSON object's members against params; prefix
// names where the object is ("" at the top, "invitations[2]." inside a
// list), and unknown words the refusal of a key params do not name.
func decodeFields(params []param, raw map[string]json.RawMessage, unknown func(name string) error, prefix, function string) (map[string]any, error) {
	out := map[string]any{}
	for name, value := range raw {
		i := slices.IndexFunc(params, func(p param) bool { return p.Name == name })
		if i < 0 {
			return nil, unknown(prefix + name)
		}
		if jsonType(value) == "null" {
			continue
		}
		v, err := decodeValue(prefix+name, params[i], value, function)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	for _, p := range params {
		if _, ok := out[p.Name]; ok {
			continue
		}
		if p.Required {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Missing required parameter %q (%s) for %s.", prefix+p.Name, p.Kind, function)
		}
		if p.Default != nil {
			out[p.Name] = p.Default
		}
	}
	return out, nil
}

// Result shapes, with QueryLake's field names; times are Unix seconds.
// The OpenAPI document describes each from its Go type (openapi.go):
// omitempty makes a field optional, a pointer without it nullable (with
// it too, if tagged nullable:"true", for a result that writes its own
// JSON: registry_json.go), and the doc tag is the field's description.
type (
	userResult struct {
		Username    string         `json:"username"`
		Memberships membershipList `json:"memberships" doc:"The first page of the user's memberships, as fetch_memberships with \"all\" lists them."`
		Admin       bool           `json:"admin"`
		Auth        string         `json:"auth" doc:"A sign-in token: send it back as auth, {\"oauth2\": ...} or Authorization: Bearer."`
		NextCursor  *string        `json:"next_cursor" doc:"Reads the rest of the memberships: fetch_memberships with return_subset \"all\" and this cursor; null when there are no more."`
	}
	membershipResult struct {
		OrganizationID   int64          `json:"organization_id"`
		OrganizationName string         `json:"organization_name"`
		Role             guildhall.Role `json:"role"`
		Username         string         `json:"username,omitempty" doc:"The member (fetch_memberships_of_organization only)."`
		InviteStillOpen  bool           `json:"invite_still_open"`
		Sender           string         `json:"sender,omitempty" doc:"Who sent an open invitation."`
		Expires          *int64         `json:"expires,omitempty" doc:"When an open invitation lapses, in Unix seconds."`
	}
	membershipsResult struct {
		Memberships membershipList `json:"memberships"`
		Admin       bool           `json:"admin"`
		NextCursor  *string        `json:"next_cursor" doc:"The cursor of the next page; null on the last."`
	}
	apiKeyResult struct {
		ID         int64  `json:"id"`
		Title      string `json:"title"`
		Created    int64  `json:"created" doc:"Unix seconds."`
		LastUsed   *int64 `json:"last_used" doc:"Unix seconds, recorded at most once a minute; null if never used."`
		KeyPreview string `json:"key_preview" doc:"\"sk-...\" and the key's last four characters."`
	}
	newAPIKeyResult struct {
		APIKey string `json:"api_key" doc:"The key itself, shown in this answer only."`
		apiKeyResult
	}
	apiKeysResult struct {
		APIKeys []apiKeyResult `json:"api_keys"`
	}
	organizationResult struct {
		OrganizationID   int64  `json:"organization_id"`
		OrganizationName string `json:"organization_name"`
	}
	auditEventResult struct {
		ID      int64  `json:"id"`
		Time    int64  `json:"time" doc:"Unix seconds."`
		Actor   string `json:"actor"`
		Action  string `json:"action"`
		Target  string `json:"target"`
		Role    string `json:"role,omitempty"`
		OldRole string `json:"old_role,omitempty" doc:"The target's role before a change_role or transfer_ownership."`
		OldName string `json:"old_name,omitempty" doc:"The organization's name before a rename_organization, whose target is the new name."`
	}
	auditLogResult struct {
		Events     []auditEventResult `json:"events"`
		NextCursor *string            `json:"next_cursor" doc:"The cursor of the next page, of older events; null on the last."`
	}
	declinedResult struct {
		Declined int `json:"declined" doc:"How many open invitations were declined."`
	}
	bulkInviteResult struct {
		Invited int             `json:"invited" doc:"How many rows were invited."`
		Results []bulkInviteRow `json:"results" doc:"One per row, in the order sent."`
	}
	bulkInviteRow struct {
		UsernameToInvite string `json:"username_to_invite"`
		Success          bool   `json:"success" doc:"Whether this row was invited."`
		Error            string `json:"error,omitempty" doc:"Why not."`
		Code             string `json:"code,omitempty" doc:"The refusal's code, as a single invitation would answer it; absent for a row held back by all_or_nothing."`
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

func apiKeyResultOf(k guildhall.APIKey) apiKeyResult {
	return apiKeyResult{ID: k.ID, Title: k.Title, Created: k.Created.Unix(), LastUsed: unixOrNil(k.LastUsed), KeyPreview: k.Preview}
}

// heldBack is the message of a row that all_or_nothing kept from being written.
const heldBack = "Not invited: all_or_nothing is set and another row was refused."

// bulkInviteRows turns InviteUsers' results into the answer's rows.
func bulkInviteRows(results []guildhall.InvitationResult) []bulkInviteRow {
	out := make([]bulkInviteRow, len(results))
	for i, r := range results {
		out[i] = bulkInviteRow{UsernameToInvite: r.Username, Success: r.Invited}
		switch {
		case r.Err != nil:
			out[i].Error, out[i].Code = guildhall.ErrorMessage(r.Err), guildhall.ErrorCode(r.Err)
		case !r.Invited:
			out[i].Error = heldBack
		}
	}
	return out
}

// names lists values (the roles, the filters of a list...) as strings, in
// their order, for enums.
func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// Limits as the parameters' descriptions state them, from the root
// package's constants.
var (
	passwordLimits         = fmt.Sprintf("%d to %d characters (at most %d bytes).", guildhall.PasswordMinLen, guildhall.PasswordMaxLen, guildhall.PasswordMaxBytes)
	organizationNameLimits = fmt.Sprintf("1 to %d characters", guildhall.OrganizationNameMaxLen)
)

// Parameters shared by several functions.
var (
	paramOrganizationID = param{Name: "organization_id", Kind: kindInt, Required: true, Min: bound(1), Description: "The ID of the organization."}
	paramUsername       = param{Name: "username", Kind: kindString, Required: true, Description: "The member's username."}
	// Every list is paged: limit rows from the cursor of the page before.
	paramLimit = param{Name: "limit", Kind: kindInt, Min: bound(0), Max: bound(guildhall.ListMaxLimit),
		Description: fmt.Sprintf("Rows in the page, 1 to %d (absent or 0: %d).", guildhall.ListMaxLimit, guildhall.ListDefaultLimit)}
	paramCursor = param{Name: "cursor", Kind: kindString, MaxLength: guildhall.CursorMaxLen,
		Description: "The next_cursor of the page before; absent for the first page. A page costs the same wherever it is in the list."}
)

// limit reads a list's page size: ListDefaultLimit when absent or 0.
// int64 to int is exact on the 64-bit platforms we build for.
func (a args) limit() int {
	if n := int(a.Int("limit")); n != 0 {
		return n
	}
	return guildhall.ListDefaultLimit
}

// hasAny reports whether any of the optional parameters was given.
func (a args) hasAny(names ...string) bool { return slices.ContainsFunc(names, a.has) }

// nextCursor is a page's next_cursor: null on the last page.
func nextCursor(c string) *string {
	if c == "" {
		return nil
	}
	return &c
}

// memberClass is a role parameter: required, or defaulting to member.
func memberClass(required bool, description string) param {
	p := param{Name: "member_class", Kind: kindString, Required: required, Enum: names(guildhall.Roles), Description: description}
	if !required {
		p.Default = string(guildhall.DefaultInviteRole)
	}
	return p
}

// registry lists every API function. Order is the order /api/help shows.
func (s *Server) registry() []*function {
	svc := s.svc
	// signedIn answers a password sign-in (login, add_user): the user, the
	// first page of their memberships and a new sign-in token.
	signedIn := func(c echo.Context, a guildhall.Actor, page guildhall.MembershipsPage) (userResult, error) {
		token, _, err := svc.CreateToken(c.Request().Context(), a)
		if err != nil {
			return userResult{}, err
		}
		return userResult{Username: a.Username, Memberships: membershipResults(page.Memberships, false), Admin: a.Admin, Auth: token,
			NextCursor: nextCursor(page.NextCursor)}, nil
	}
	return []*function{
		{
			Name: "add_user", Description: "Sign up a new user; returns the user and a sign-in token.", public: true, effect: mintsSecret,
			Params: []param{
				{Name: "username", Kind: kindString, Required: true, MinLength: guildhall.UsernameMinLen, MaxLength: guildhall.UsernameMaxLen, Pattern: guildhall.UsernamePattern,
					Description: "1 to 32 characters from a-z, 0-9, '_', '.', '-', at least one letter or digit."},
				{Name: "password", Kind: kindString, Required: true, MinLength: guildhall.PasswordMinLen, MaxLength: guildhall.PasswordMaxLen, Description: passwordLimits},
			},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ECONFLICT, guildhall.ERATELIMITED},
			answer: returns(func(c echo.Context, _ guildhall.Actor, a args) (userResult, error) {
				u, err := svc.SignUp(c.Request().Context(), a.String("username"), a.String("password"), c.RealIP())
				if err != nil {
					return userResult{}, err
				}
				// The password was given in this very request, and set by it.
				return signedIn(c, guildhall.Actor{UserID: u.ID, Username: u.Username, Admin: u.Admin, Auth: guildhall.AuthPassword}, guildhall.MembershipsPage{})
			}),
		},
		{
			Name: "login", Description: fmt.Sprintf("Check a username and password; returns the user, the first %d of their memberships (next_cursor reads on with fetch_memberships, return_subset \"all\") and a sign-in token.", guildhall.ListDefaultLimit),
			password: guildhall.OpLogIn, effect: mintsSecret,
			answer: returns(func(c echo.Context, actor guildhall.Actor, _ args) (userResult, error) {
				page, err := svc.LoginMemberships(c.Request().Context(), actor)
				if err != nil {
					return userResult{}, err
				}
				return signedIn(c, actor, page)
			}),
		},
		{
			Name: "logout", Description: "End the sign-in token the call is made with.", token: true, effect: writes,
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.EndToken(c.Request().Context(), actor, a.auth.Token)
			}),
		},
		{
			Name: "create_api_key", Description: "Create an API key; the key is shown in this answer only.", password: guildhall.OpCreateAPIKey, effect: mintsSecret,
			Params: []param{{Name: "title", Kind: kindString, Default: "", MaxLength: guildhall.APIKeyTitleMaxLen, Description: "A name to recognise the key by."}},
			answer: returns(func(c echo.Context, actor guildhall.Actor, a args) (newAPIKeyResult, error) {
				k, secret, err := svc.CreateAPIKey(c.Request().Context(), actor, a.String("title"))
				if err != nil {
					return newAPIKeyResult{}, err
				}
				return newAPIKeyResult{APIKey: secret, apiKeyResult: apiKeyResultOf(k)}, nil
			}),
		},
		{
			Name: "fetch_api_keys", Description: "List your API keys (previews only).", password: guildhall.OpListAPIKeys, effect: reads,
			answer: returns(func(c echo.Context, actor guildhall.Actor, _ args) (apiKeysResult, error) {
				keys, err := svc.ListAPIKeys(c.Request().Context(), actor)
				if err != nil {
					return apiKeysResult{}, err
				}
				out := apiKeysResult{APIKeys: make([]apiKeyResult, 0, len(keys))}
				for _, k := range keys {
					out.APIKeys = append(out.APIKeys, apiKeyResultOf(k))
				}
				return out, nil
			}),
		},
		{
			Name: "delete_api_key", Description: "Revoke one of your API keys.", password: guildhall.OpDeleteAPIKey, effect: writes,
			Params:   []param{{Name: "api_key_id", Kind: kindInt, Required: true, Min: bound(1), Description: "The id from create_api_key or fetch_api_keys."}},
			Refusals: []string{guildhall.ENOTFOUND},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.DeleteAPIKey(c.Request().Context(), actor, a.Int("api_key_id"))
			}),
		},
		{
			Name: "create_organization", Description: "Create an organization with you as its owner.", effect: writes,
			Params: []param{
				{Name: "organization_name", Kind: kindString, Required: true, MinLength: 1, MaxLength: guildhall.OrganizationNameMaxLen, Description: organizationNameLimits + "."},
				{Name: "organization_description", Kind: kindString, Default: "", MaxLength: guildhall.OrganizationDescriptionMaxLen, Description: "Up to 2000 characters."},
			},
			Refusals: []string{guildhall.ERATELIMITED},
			answer: returns(func(c echo.Context, actor guildhall.Actor, a args) (organizationResult, error) {
				org, err := svc.CreateOrganization(c.Request().Context(), actor, a.String("organization_name"), a.String("organization_description"))
				if err != nil {
					return organizationResult{}, err
				}
				return organizationResult{OrganizationID: org.ID, OrganizationName: org.Name}, nil
			}),
		},
		{
			Name:        "invite_user_to_organization",
			Description: "Invite a user to an organization. Owners may grant any role; others only roles ranked below their own. Inviting someone already a member or already invited is a conflict.",
			effect:      writes,
			Params: []param{
				{Name: "username_to_invite", Kind: kindString, Required: true, Description: "The username of the user to invite."},
				paramOrganizationID,
				memberClass(false, "The role to grant: owner, admin, member or viewer."),
			},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT, guildhall.ERATELIMITED},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				_, err := svc.InviteUser(c.Request().Context(), actor, a.Int("organization_id"), a.String("username_to_invite"), a.Role("member_class"))
				return err
			}),
		},
		{
			Name: "invite_users_to_organization",
			Description: fmt.Sprintf("Invite up to %d users at once. Each row is judged as invite_user_to_organization judges one invitation, and answered in order; "+
				"with all_or_nothing, nothing is written unless every row succeeds.", guildhall.MaxBulkInvitations),
			effect: writes,
			Params: []param{
				paramOrganizationID,
				{Name: "invitations", Kind: kindList, Required: true, Min: bound(1), Max: bound(guildhall.MaxBulkInvitations), Description: "The invitations, one object each.",
					Fields: []param{
						{Name: "username_to_invite", Kind: kindString, Required: true, Description: "The username of the user to invite."},
						memberClass(false, "The role to grant."),
					}},
				{Name: "all_or_nothing", Kind: kindBool, Default: false, Description: "true: write nothing unless every row would succeed."},
			},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND},
			answer: returns(func(c echo.Context, actor guildhall.Actor, a args) (bulkInviteResult, error) {
				rows := a.List("invitations")
				invitations := make([]guildhall.Invitation, len(rows))
				for i, row := range rows {
					invitations[i] = guildhall.Invitation{Username: row.String("username_to_invite"), Role: row.Role("member_class")}
				}
				results, invited, err := svc.InviteUsers(c.Request().Context(), actor, a.Int("organization_id"), invitations, a.Bool("all_or_nothing"))
				if err != nil {
					return bulkInviteResult{}, err
				}
				return bulkInviteResult{Invited: invited, Results: bulkInviteRows(results)}, nil
			}),
		},
		{
			Name: "resolve_organization_invitation", Description: "Accept or decline your invitation to an organization.", effect: writes,
			Params:   []param{paramOrganizationID, {Name: "accept", Kind: kindBool, Required: true, Description: "true to accept, false to decline."}},
			Refusals: []string{guildhall.ENOTFOUND, guildhall.ECONFLICT, guildhall.EGONE},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.ResolveInvitation(c.Request().Context(), actor, a.Int("organization_id"), a.Bool("accept"))
			}),
		},
		{
			Name: "fetch_memberships", Description: "List your memberships, open invitations, or both, a page at a time in the order they were made.", effect: reads,
			Params: []param{{Name: "return_subset", Kind: kindString, Default: string(guildhall.SubsetAccepted),
				Enum:        names(guildhall.MembershipSubsets),
				Description: "\"accepted\", \"open_invitations\" or \"all\"."}, paramLimit, paramCursor},
			answer: returns(func(c echo.Context, actor guildhall.Actor, a args) (membershipsResult, error) {
				page, err := svc.ListMemberships(c.Request().Context(), actor, guildhall.MembershipsQuery{
					Subset: guildhall.MembershipSubset(a.String("return_subset")), Cursor: a.String("cursor"), Limit: a.limit()})
				if err != nil {
					return membershipsResult{}, err
				}
				return membershipsResult{Memberships: membershipResults(page.Memberships, false), Admin: actor.Admin, NextCursor: nextCursor(page.NextCursor)}, nil
			}),
		},
		{
			Name: "fetch_memberships_of_organization",
			Description: fmt.Sprintf("List an organization's members and open invitations (members only), a page at a time: "+
				"the first %d when called with the organization alone; limit, cursor, search, status, role, sort and offset choose another page.", guildhall.ListDefaultLimit),
			effect: reads,
			Params: []param{paramOrganizationID,
				{Name: "search", Kind: kindString, MaxLength: guildhall.MemberSearchMaxLen, Description: "Only usernames containing this."},
				{Name: "status", Kind: kindString, Enum: names(guildhall.MemberFilters),
					Description: "\"active\", \"invited\" (open invitations), \"expired\" or \"all\" (expired and all: owners and admins); absent: active and invited."},
				{Name: "role", Kind: kindString, Enum: names(guildhall.Roles), Description: "Only this role."},
				{Name: "sort", Kind: kindString, Enum: names(guildhall.MemberSorts),
					Description: "\"name\" or \"joined\" (most recent first); absent: open invitations first, then by role, highest first, then by username."},
				paramLimit, paramCursor,
				{Name: "offset", Kind: kindInt, Min: bound(0), Description: "Rows to skip from the start, instead of a cursor: it costs as many rows as it skips."},
			},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND},
			answer: returns(func(c echo.Context, actor guildhall.Actor, a args) (membersPageResult, error) {
				page, err := svc.ListMembersPage(c.Request().Context(), actor, a.Int("organization_id"), guildhall.MembersQuery{
					Search: a.String("search"), Status: guildhall.MemberFilter(a.String("status")), Role: guildhall.Role(a.String("role")),
					Sort: guildhall.MemberSort(a.String("sort")), Cursor: a.String("cursor"), Offset: int(a.Int("offset")), Limit: a.limit()})
				if err != nil {
					return membersPageResult{}, err
				}
				result := membersPageResult{Memberships: membershipResults(page.Members, true), NextCursor: nextCursor(page.NextCursor)}
				if a.hasAny("search", "status", "role", "sort", "limit", "cursor", "offset") { // say where the page is
					result.Limit = &page.Limit
					if page.Counted() {
						result.Total = &page.Total
					}
					if page.Cursor == "" {
						result.Offset = &page.Offset
					}
				}
				return result, nil
			}),
		},
		{
			Name: "change_organization_member_role", Description: "Change an active member's role.", effect: writes,
			Params:   []param{paramOrganizationID, paramUsername, memberClass(true, "The new role.")},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.ChangeMemberRole(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"), a.Role("member_class"))
			}),
		},
		{
			Name: "revoke_organization_invitation", Description: "Withdraw a pending invitation.", effect: writes,
			Params:   []param{paramOrganizationID, paramUsername},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.RevokeInvitation(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
			}),
		},
		{
			Name: "remove_organization_member", Description: "Remove a member, or leave (name yourself).", effect: writes,
			Params:   []param{paramOrganizationID, paramUsername},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.RemoveMember(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
			}),
		},
		{
			Name: "fetch_organization_audit_log", Description: "The organization's membership changes, newest first, a page at a time (owners and admins).", effect: reads,
			Params:   []param{paramOrganizationID, paramLimit, paramCursor},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND},
			answer: returns(func(c echo.Context, actor guildhall.Actor, a args) (auditLogResult, error) {
				page, err := svc.ListAuditLog(c.Request().Context(), actor, a.Int("organization_id"), guildhall.AuditQuery{Cursor: a.String("cursor"), Limit: a.limit()})
				if err != nil {
					return auditLogResult{}, err
				}
				out := auditLogResult{Events: make([]auditEventResult, 0, len(page.Events)), NextCursor: nextCursor(page.NextCursor)}
				for _, e := range page.Events {
					out.Events = append(out.Events, auditEventResult{ID: e.ID, Time: e.Time.Unix(), Actor: e.Actor, Action: e.Action, Target: e.Target,
						Role: string(e.Role), OldRole: string(e.OldRole), OldName: e.OldName})
				}
				return out, nil
			}),
		},
		{
			Name: "leave_organization", Description: "Leave an organization. The last owner must transfer ownership first.", effect: writes,
			Params:   []param{paramOrganizationID},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.LeaveOrganization(c.Request().Context(), actor, a.Int("organization_id"))
			}),
		},
		{
			Name: "transfer_organization_ownership", Description: "Make an active member owner; you become admin (owners only).", effect: writes,
			Params:   []param{paramOrganizationID, {Name: "username", Kind: kindString, Required: true, Description: "The active member who becomes owner."}},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.TransferOwnership(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
			}),
		},
		{
			Name: "update_organization", Description: "Rename an organization or change its description (owners and admins).", effect: writes,
			Params: []param{paramOrganizationID,
				{Name: "organization_name", Kind: kindString, MinLength: 1, MaxLength: guildhall.OrganizationNameMaxLen, Description: "The new name, " + organizationNameLimits + "."},
				{Name: "organization_description", Kind: kindString, MaxLength: guildhall.OrganizationDescriptionMaxLen, Description: fmt.Sprintf("The new description, up to %d characters (\"\" clears it).", guildhall.OrganizationDescriptionMaxLen)},
			},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				// Absence matters: a field not given is left as it is.
				var name, description *string
				if a.has("organization_name") {
					name = new(a.String("organization_name"))
				}
				if a.has("organization_description") {
					description = new(a.String("organization_description"))
				}
				_, err := svc.UpdateOrganization(c.Request().Context(), actor, a.Int("organization_id"), name, description)
				return err
			}),
		},
		{
			Name: "delete_organization", Description: "Delete an organization with its memberships, invitations and audit trail (owners only).", effect: writes,
			Params:   []param{paramOrganizationID, {Name: "confirm_name", Kind: kindString, Required: true, Description: "The organization's current name, typed to confirm."}},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.DeleteOrganization(c.Request().Context(), actor, a.Int("organization_id"), a.String("confirm_name"))
			}),
		},
		{
			Name: "resend_organization_invitation", Description: "Renew a pending invitation, open or expired, with a new expiry from now.", effect: writes,
			Params:   []param{paramOrganizationID, paramUsername},
			Refusals: []string{guildhall.EFORBIDDEN, guildhall.ENOTFOUND, guildhall.ECONFLICT, guildhall.ERATELIMITED},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				_, err := svc.ResendInvitation(c.Request().Context(), actor, a.Int("organization_id"), a.String("username"))
				return err
			}),
		},
		{
			Name: "change_password", Description: "Change your password; every browser session and sign-in token of yours ends (API keys stay).",
			password: guildhall.OpChangePassword, effect: setsPassword,
			Params: []param{{Name: "new_password", Kind: kindString, Required: true, MinLength: guildhall.PasswordMinLen, MaxLength: guildhall.PasswordMaxLen,
				Description: passwordLimits}},
			// ENOTFOUND: the account was deleted after the call authenticated.
			Refusals: []string{guildhall.ENOTFOUND},
			answer: nothing(func(c echo.Context, actor guildhall.Actor, a args) error {
				return svc.ChangePassword(c.Request().Context(), actor, a.String("new_password"))
			}),
		},
		{
			Name: "decline_all_invitations", Description: "Decline every open invitation addressed to you.", effect: writes,
			answer: returns(func(c echo.Context, actor guildhall.Actor, _ args) (declinedResult, error) {
				n, err := svc.DeclineAllInvitations(c.Request().Context(), actor)
				if err != nil {
					return declinedResult{}, err
				}
				return declinedResult{Declined: n}, nil
			}),
		},
		{
			Name: "function_help", Description: "Every API function with its description and arguments, in QueryLake's format.", public: true, effect: reads,
			answer: returns(func(echo.Context, guildhall.Actor, args) ([]functionSpec, error) {
				return s.specs, nil
			}),
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

// helpParam is one parameter as help describes it; a list's fields are
// described the same way, one level down.
type helpParam struct {
	helpField
	Fields []helpField `json:"fields,omitempty"`
}

type helpField struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Default     any      `json:"default,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description"`
}

// jsonTypeName is the JSON Schema type of a parameter kind.
func (k paramKind) jsonTypeName() string {
	return [...]string{"string", "integer", "boolean", "array"}[k]
}

// authDescription is how help describes the auth parameter of a function
// that takes credentials of kind k.
func authDescription(k authKind) string {
	forms := map[authKind]string{
		authAny:             `{"api_key": "sk-..."}, a sign-in token ("tk-..." or {"oauth2": "tk-..."}), or {"username": ..., "password": ...}`,
		authPassword:        `{"username": ..., "password": ...}`,
		authPasswordOrToken: `{"username": ..., "password": ...}, or a sign-in token ("tk-..." or {"oauth2": "tk-..."})`,
		authToken:           `the sign-in token to end ("tk-..." or {"oauth2": "tk-..."})`,
	}[k]
	if k == authPassword {
		return forms + "."
	}
	return forms + "; without it, the Authorization: Bearer header is used."
}

func helpParams(params []param) []helpParam {
	out := make([]helpParam, 0, len(params))
	for _, p := range params {
		hp := helpParam{helpField: p.helpField()}
		for _, f := range p.Fields {
			hp.Fields = append(hp.Fields, f.helpField())
		}
		out = append(out, hp)
	}
	return out
}

func (p param) helpField() helpField {
	return helpField{Name: p.Name, Type: p.Kind.jsonTypeName(), Required: p.Required, Default: p.Default, Enum: p.Enum, Description: p.Description}
}

func (fn *function) help() helpEntry {
	e := helpEntry{Name: fn.Name, Description: fn.Description, Auth: fn.auth().String(), Parameters: []helpParam{}}
	if fn.auth() != authNone {
		typ := "object or string" // a sign-in token may come bare
		if fn.auth() == authPassword {
			typ = "object"
		}
		e.Parameters = append(e.Parameters, helpParam{helpField: helpField{Name: "auth", Type: typ, Required: fn.auth() == authPassword, Description: authDescription(fn.auth())}})
	}
	e.Parameters = append(e.Parameters, helpParams(fn.Params)...)
	return e
}

// functionSpec is one function as QueryLake's function_help lists it:
// its endpoint, its name, its description, and its arguments with
// Python-style type hints and defaults (as QueryLake reads them off its
// Python signatures; auth is "QUERYLAKE_AUTH").
type functionSpec struct {
	Endpoint      string    `json:"endpoint"`
	APIFunctionID string    `json:"api_function_id"`
	FunctionName  string    `json:"function_name"`
	Description   string    `json:"description"`
	FunctionArgs  []specArg `json:"function_args"`
}

type specArg struct {
	Keyword  string `json:"keyword"`
	TypeHint string `json:"type_hint"`
	Default  string `json:"default,omitempty" doc:"The default as Python writes it: 'member', False, None."`
}

// functionSpecs lists every function for function_help, from the registry.
func (s *Server) functionSpecs() []functionSpec {
	out := make([]functionSpec, 0, len(s.functionOrder))
	for _, fn := range s.functionOrder {
		spec := functionSpec{Endpoint: "/api/" + fn.Name, APIFunctionID: fn.Name, FunctionName: fn.Name, Description: fn.Description, FunctionArgs: []specArg{}}
		if fn.auth() != authNone {
			spec.FunctionArgs = append(spec.FunctionArgs, specArg{Keyword: "auth", TypeHint: "QUERYLAKE_AUTH"})
		}
		for _, p := range fn.Params {
			arg := specArg{Keyword: p.Name, TypeHint: [...]string{"str", "int", "bool", "List[dict]"}[p.Kind]}
			switch d := p.Default.(type) {
			case nil:
				if !p.Required {
					arg.Default = "None"
				}
			case string:
				arg.Default = "'" + strings.ReplaceAll(d, "'", "\\'") + "'"
			case bool:
				arg.Default = map[bool]string{true: "True", false: "False"}[d]
			default:
				arg.Default = fmt.Sprint(d)
			}
			spec.FunctionArgs = append(spec.FunctionArgs, arg)
		}
		out = append(out, spec)
	}
	return out
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
	return c.JSON(http.StatusOK, success{Success: true, Result: map[string]any{"functions": s.help}})
}

// helpEntries describes every function for /api/help, from the registry.
func (s *Server) helpEntries() []helpEntry {
	out := make([]helpEntry, 0, len(s.functionOrder))
	for _, fn := range s.functionOrder {
		out = append(out, fn.help())
	}
	return out
}

// handlePing answers QueryLake's liveness check.
func (s *Server) handlePing(c echo.Context) error {
	return c.JSON(http.StatusOK, success{Success: true, Note: "Pong"})
}
