// Package handlers serves Guildhall over HTTP with Echo: the QueryLake-
// compatible JSON API under /api and the HTML pages. Every action calls the
// same service operation, so a rule holds the same way for both.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"guildhall"
)

// Service is what the handlers need of the membership service (db.DB).
type Service interface {
	Observable // for /readyz and the metrics (health.go)
	SignUp(ctx context.Context, username, password, clientAddr string) (guildhall.User, error)
	Authenticate(ctx context.Context, c guildhall.Credentials) (guildhall.Actor, error)
	LoginMemberships(ctx context.Context, a guildhall.Actor) (guildhall.MembershipsPage, error)
	CreateAPIKey(ctx context.Context, a guildhall.Actor, title string) (guildhall.APIKey, string, error)
	ListAPIKeys(ctx context.Context, a guildhall.Actor) ([]guildhall.APIKey, error)
	DeleteAPIKey(ctx context.Context, a guildhall.Actor, id int64) error
	CreateOrganization(ctx context.Context, a guildhall.Actor, name, description string) (guildhall.Organization, error)
	Organization(ctx context.Context, a guildhall.Actor, orgID int64) (guildhall.Organization, guildhall.Role, error)
	InviteUser(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) (guildhall.Membership, error)
	ResolveInvitation(ctx context.Context, a guildhall.Actor, orgID int64, accept bool) error
	ListMemberships(ctx context.Context, a guildhall.Actor, q guildhall.MembershipsQuery) (guildhall.MembershipsPage, error)
	OpenInvitation(ctx context.Context, a guildhall.Actor, orgID int64) (guildhall.Membership, error)
	ListMembersPage(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.MembersQuery) (guildhall.MembersPage, error)
	OrganizationPage(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.MembersQuery, auditLimit int) (guildhall.OrganizationPage, error)
	ChangeMemberRole(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) error
	RevokeInvitation(ctx context.Context, a guildhall.Actor, orgID int64, username string) error
	RemoveMember(ctx context.Context, a guildhall.Actor, orgID int64, username string) error
	ListAuditLog(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.AuditQuery) (guildhall.AuditPage, error)
	InviteUsers(ctx context.Context, a guildhall.Actor, orgID int64, invitations []guildhall.Invitation, allOrNothing bool) ([]guildhall.InvitationResult, int, error)
	LeaveOrganization(ctx context.Context, a guildhall.Actor, orgID int64) error
	TransferOwnership(ctx context.Context, a guildhall.Actor, orgID int64, username string) error
	UpdateOrganization(ctx context.Context, a guildhall.Actor, orgID int64, name, description *string) (guildhall.Organization, error)
	DeleteOrganization(ctx context.Context, a guildhall.Actor, orgID int64, confirmName string) error
	ResendInvitation(ctx context.Context, a guildhall.Actor, orgID int64, username string) (guildhall.Membership, error)
	DeclineAllInvitations(ctx context.Context, a guildhall.Actor) (int, error)
	ChangePassword(ctx context.Context, a guildhall.Actor, newPassword string) error
	ConfirmPassword(ctx context.Context, a guildhall.Actor, password, clientAddr string) (guildhall.Actor, error)
	ListSessions(ctx context.Context, a guildhall.Actor, idle time.Duration) ([]guildhall.Session, error)
	EndSession(ctx context.Context, a guildhall.Actor, handle string) error
	CreateToken(ctx context.Context, a guildhall.Actor) (string, time.Time, error)
	EndToken(ctx context.Context, a guildhall.Actor, token string) error
	Idempotent(ctx context.Context, c guildhall.IdempotentCall, lease time.Duration, run func(ctx context.Context) (guildhall.Answer, error)) (guildhall.Answer, bool, error)
}

// Config configures a Server. Everything the server depends on besides the
// Service is a field here, so the wiring is visible where it is done.
type Config struct {
	Logger *slog.Logger

	// Pages (see pages.go, session.go, session_store.go, csrf.go).
	// Sessions stores sign-in sessions; nil serves the API alone, without
	// the pages.
	Sessions SessionStorage
	// SignupClosed hides the sign-up page and its links; set it together
	// with the service's own refusal (db.Options.SignupClosed).
	SignupClosed bool
	// SessionKeys sign session cookies: the first signs, all verify (for
	// rotation). Empty means a random key, good until the process ends.
	SessionKeys [][]byte
	// SecureCookies marks cookies Secure, for deployments behind TLS.
	SecureCookies bool
	// SessionIdleTimeout and SessionMaxAge end a session after that long
	// without a request, or that long after sign-in; zero means
	// DefaultSessionIdleTimeout and DefaultSessionMaxAge.
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// for the client address; empty means the connection's address.
	TrustedProxies []*net.IPNet

	// Metrics, if set, counts every request (metrics.go) and is served at
	// /metrics, unless MetricsServedElsewhere: `guildhall serve
	// --metrics-addr` serves it on a listener of its own.
	Metrics                *Metrics
	MetricsServedElsewhere bool
}

// Server is Guildhall's HTTP front: an Echo router with every route.
type Server struct {
	echo          *echo.Echo
	svc           Service
	log           *slog.Logger
	functions     map[string]*function
	functionOrder []*function
	// What the registry says of itself, made once: the OpenAPI document,
	// /api/help's entries and function_help's specs.
	openAPI map[string]any
	help    []helpEntry
	specs   []functionSpec
	web     *webPages
	metrics *Metrics // nil: no metrics
}

// New builds the server and registers every route.
func New(svc Service, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{echo: echo.New(), svc: svc, log: cfg.Logger, functions: map[string]*function{}, metrics: cfg.Metrics}
	s.functionOrder = s.registry()
	for _, fn := range s.functionOrder {
		if fn.effect == effectUnset {
			panic("handlers: API function " + fn.Name + " does not say whether it reads or writes")
		}
		s.functions[fn.Name] = fn
	}
	s.openAPI, s.help, s.specs = s.openAPIDocument(), s.helpEntries(), s.functionSpecs()
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// Client addresses come from the connection; X-Forwarded-For is not
	// trusted unless a proxy is configured.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(cfg.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	if cfg.Sessions != nil {
		s.web = newWebPages(cfg)
	}
	if cfg.Metrics != nil {
		cfg.Metrics.watch(svc, s.web, cfg.Logger)
	}
	e.Use(withRequestID)
	e.Use(s.observeRequests)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: s.logPanic}))
	e.Use(requestDeadline(RequestTimeout))
	s.routes()
	s.operationRoutes(cfg)
	return s
}

// routes registers every route, in one place. Every page and read-only
// endpoint that answers GET answers HEAD too (uptime monitors and link
// checkers send it); render and the error handler send no body for it.
// /api/<function> takes GET and POST only: its GET may change data, which
// a HEAD must never do. Echo answers OPTIONS on every route with 204 and
// an Allow header, and any other method with 405 and the same header, as
// docs/API.md says.
func (s *Server) routes() {
	e := s.echo
	readable := []string{http.MethodGet, http.MethodHead}
	api := e.Group("/api")
	api.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost}, "/ping", s.handlePing)
	api.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost}, "/help", s.handleHelp)
	api.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost}, "/help/:function", s.handleHelp)
	api.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost}, "/openapi.json", s.handleOpenAPI)
	api.Match([]string{http.MethodGet, http.MethodPost}, "/:function", s.handleAPI)

	// Pages: session, security headers, CSRF on every post. The API above
	// never reads the session cookie.
	if s.web == nil {
		return // no session storage: the API alone
	}
	e.Match(readable, "/static/:hash/*", s.handleStatic)
	anyone := []echo.MiddlewareFunc{pageHeaders, s.withSession, s.checkCSRF}
	member := []echo.MiddlewareFunc{pageHeaders, s.withSession, s.requireSignIn, s.checkCSRF}
	e.Match(readable, "/login", s.handleLoginPage, anyone...)
	e.POST("/login", s.handleLogin, anyone...)
	e.POST("/logout", s.handleLogout, anyone...)
	e.Match(readable, "/signup", s.handleSignupPage, anyone...)
	e.POST("/signup", s.handleSignup, anyone...)
	e.Match(readable, "/", s.handleDashboard, member...)
	e.Match(readable, "/orgs/new", s.handleNewOrganizationPage, member...)
	e.POST("/orgs", s.handleCreateOrganization, member...)
	e.Match(readable, "/orgs/:id", s.handleOrganization, member...)
	e.Match(readable, "/orgs/:id/settings", s.handleSettings, member...)
	e.POST("/orgs/:id/settings", s.handleUpdateOrganization, member...)
	e.POST("/orgs/:id/invitations", s.handleInvite, member...)
	e.POST("/orgs/:id/invitations/bulk", s.handleBulkInvite, member...)
	e.POST("/orgs/:id/invitations/:username/resend", s.handleResend, member...)
	e.POST("/orgs/:id/members/:username/role", s.handleChangeRole, member...)
	e.POST("/invitations/:id/accept", s.handleResolveInvitation(true), member...)
	e.Match(readable, "/keys", s.handleKeys, member...)
	e.POST("/keys", s.handleCreateKey, member...)
	e.Match(readable, "/account", s.handleAccount, member...)
	e.POST("/account/password", s.handleChangePassword, member...)
	for path, h := range s.destructiveActions() {
		e.Match(readable, path, h[0], member...)
		e.POST(path, h[1], member...)
	}
}

// destructiveActions are the routes of the actions that ask first: GET
// asks (a page, or a dialog for htmx), POST does it. Each question's form
// posts to the URL the pages' builders make from the checked parameters
// (see confirm).
func (s *Server) destructiveActions() map[string][2]echo.HandlerFunc {
	return map[string][2]echo.HandlerFunc{
		"/orgs/:id/invitations/:username/revoke": {s.handleRevokeConfirm, s.handleRevoke},
		"/orgs/:id/members/:username/remove":     {s.handleRemoveConfirm, s.handleRemove},
		"/orgs/:id/leave":                        {s.handleLeaveConfirm, s.handleLeave},
		"/orgs/:id/transfer":                     {s.handleTransferConfirm, s.handleTransfer},
		"/orgs/:id/delete":                       {s.handleDeleteConfirm, s.handleDelete},
		"/invitations/:id/decline":               {s.handleDeclineConfirm, s.handleResolveInvitation(false)},
		"/invitations/decline-all":               {s.handleDeclineAllConfirm, s.handleDeclineAll},
		"/keys/:id/delete":                       {s.handleDeleteKeyConfirm, s.handleDeleteKey},
		"/account/sessions/:handle/end":          {s.handleEndSessionConfirm, s.handleEndSession},
	}
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }
