// Package handlers serves Guildhall over HTTP with Echo: the QueryLake-
// compatible JSON API under /api and the HTML pages. Every action calls the
// same service operation, so a rule holds the same way for both.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"guildhall"
)

// Service is what the handlers need of the membership service (db.DB).
type Service interface {
	SignUp(ctx context.Context, username, password string) (guildhall.User, error)
	Authenticate(ctx context.Context, c guildhall.Credentials) (guildhall.Actor, error)
	Login(ctx context.Context, a guildhall.Actor) ([]guildhall.Membership, error)
	CreateAPIKey(ctx context.Context, a guildhall.Actor, title string) (guildhall.APIKey, string, error)
	ListAPIKeys(ctx context.Context, a guildhall.Actor) ([]guildhall.APIKey, error)
	DeleteAPIKey(ctx context.Context, a guildhall.Actor, id int64) error
	CreateOrganization(ctx context.Context, a guildhall.Actor, name, description string) (guildhall.Organization, error)
	Organization(ctx context.Context, a guildhall.Actor, orgID int64) (guildhall.Organization, guildhall.Role, error)
	InviteUser(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) (guildhall.Membership, error)
	ResolveInvitation(ctx context.Context, a guildhall.Actor, orgID int64, accept bool) error
	FetchMemberships(ctx context.Context, a guildhall.Actor, subset guildhall.MembershipSubset) ([]guildhall.Membership, error)
	FetchOrganizationMembers(ctx context.Context, a guildhall.Actor, orgID int64) ([]guildhall.Membership, error)
	ListMembersPage(ctx context.Context, a guildhall.Actor, orgID int64, search string, offset, limit int) (guildhall.MembersPage, error)
	ChangeMemberRole(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) error
	RevokeInvitation(ctx context.Context, a guildhall.Actor, orgID int64, username string) error
	RemoveMember(ctx context.Context, a guildhall.Actor, orgID int64, username string) error
	AuditLog(ctx context.Context, a guildhall.Actor, orgID int64, limit int) ([]guildhall.AuditEvent, error)
}

// Config configures a Server.
type Config struct {
	Logger *slog.Logger

	// Pages (see pages.go, session_store.go, csrf.go).
	// Sessions stores sign-in sessions; nil means the Service, if it can.
	Sessions SessionStorage
	// SessionKeys sign session cookies: the first signs, all verify (for
	// rotation). Empty means a random key, good until the process ends.
	SessionKeys [][]byte
	// SecureCookies marks cookies Secure, for deployments behind TLS.
	SecureCookies bool
	// SessionIdleTimeout and SessionMaxAge end a session after that long
	// without a request, or that long after sign-in; zero means the default.
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// for the client address; empty means the connection's address.
	TrustedProxies []*net.IPNet
}

// Server is Guildhall's HTTP front: an Echo router with every route.
type Server struct {
	echo          *echo.Echo
	svc           Service
	log           *slog.Logger
	functions     map[string]*function
	functionOrder []*function
	web           *webPages
}

// New builds the server and registers every route.
func New(svc Service, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{echo: echo.New(), svc: svc, log: cfg.Logger, functions: map[string]*function{}}
	s.functionOrder = s.registry()
	for _, fn := range s.functionOrder {
		s.functions[fn.Name] = fn
	}
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
	s.web = newWebPages(svc, cfg, cfg.Logger)
	e.Use(middleware.RequestID())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: s.logPanic}))
	e.Use(requestDeadline(RequestTimeout))
	s.routes()
	return s
}

// routes registers every route, in one place.
func (s *Server) routes() {
	e := s.echo
	api := e.Group("/api")
	api.Match([]string{http.MethodGet, http.MethodPost}, "/ping", s.handlePing)
	api.Match([]string{http.MethodGet, http.MethodPost}, "/help", s.handleHelp)
	api.Match([]string{http.MethodGet, http.MethodPost}, "/help/:function", s.handleHelp)
	api.Match([]string{http.MethodGet, http.MethodPost}, "/:function", s.handleAPI)

	// Pages: session, security headers, CSRF on every post. The API above
	// never reads the session cookie.
	if s.web == nil {
		return // no session storage: the API alone
	}
	e.Match([]string{http.MethodGet, http.MethodHead}, "/static/:hash/*", s.handleStatic)
	anyone := []echo.MiddlewareFunc{pageHeaders, s.withSession, s.checkCSRF}
	member := []echo.MiddlewareFunc{pageHeaders, s.withSession, s.requireSignIn, s.checkCSRF}
	e.GET("/login", s.handleLoginPage, anyone...)
	e.POST("/login", s.handleLogin, anyone...)
	e.POST("/logout", s.handleLogout, anyone...)
	e.GET("/signup", s.handleSignupPage, anyone...)
	e.POST("/signup", s.handleSignup, anyone...)
	e.GET("/", s.handleDashboard, member...)
	e.GET("/orgs/new", s.handleNewOrganizationPage, member...)
	e.POST("/orgs", s.handleCreateOrganization, member...)
	e.GET("/orgs/:id", s.handleOrganization, member...)
	e.POST("/orgs/:id/invitations", s.handleInvite, member...)
	e.POST("/orgs/:id/invitations/:username/revoke", s.handleRevoke, member...)
	e.POST("/invitations/:id/accept", s.handleResolveInvitation(true), member...)
	e.POST("/invitations/:id/decline", s.handleResolveInvitation(false), member...)
	e.GET("/keys", s.handleKeys, member...)
	e.POST("/keys", s.handleCreateKey, member...)
	e.POST("/keys/:id/delete", s.handleDeleteKey, member...)
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// statusOf maps an error code to its HTTP status: the one place that does.
func statusOf(code string) int {
	switch code {
	case guildhall.EINVALID:
		return http.StatusBadRequest
	case guildhall.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case guildhall.EFORBIDDEN:
		return http.StatusForbidden
	case guildhall.ENOTFOUND:
		return http.StatusNotFound
	case guildhall.ECONFLICT:
		return http.StatusConflict
	case guildhall.EGONE:
		return http.StatusGone
	case guildhall.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case guildhall.ERATELIMITED:
		return http.StatusTooManyRequests
	case guildhall.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fromEchoError turns Echo's own errors (no route, wrong method, a
// middleware's refusal) into coded errors.
func fromEchoError(he *echo.HTTPError) *guildhall.Error {
	switch he.Code {
	case http.StatusNotFound:
		return guildhall.Errorf(guildhall.ENOTFOUND, "Not found.")
	case http.StatusMethodNotAllowed:
		return guildhall.Errorf(guildhall.EINVALID, "This method is not allowed here; use GET or POST.")
	case http.StatusRequestEntityTooLarge:
		return guildhall.Errorf(guildhall.ETOOLARGE, "The request body is too large.")
	case http.StatusForbidden:
		return guildhall.Errorf(guildhall.EFORBIDDEN, "Forbidden.")
	case http.StatusBadRequest:
		return guildhall.Errorf(guildhall.EINVALID, "Bad request.")
	}
	return nil
}

// handleError answers every failure with the error envelope. Errors that
// are not coded are logged with the request id and shown as "Internal error.".
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if ge := fromEchoError(he); ge != nil {
			err = ge
		}
	}
	code := guildhall.ErrorCode(err)
	status := statusOf(code)
	if he != nil && he.Code == http.StatusMethodNotAllowed {
		status = he.Code
	}
	if code == guildhall.EINTERNAL {
		s.log.ErrorContext(c.Request().Context(), "internal error",
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	var ge *guildhall.Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
	body := failure{Success: false, Error: guildhall.ErrorMessage(err), Code: code}
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	if s.web != nil && !isAPIPath(c.Request().URL.Path) {
		s.renderErrorPage(c, status, body.Error)
		return
	}
	c.JSON(status, body)
}

// failure is the envelope of every error answer.
type failure struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Code    string `json:"code"`
}

// logPanic logs a recovered panic; the client sees only the generic 500.
func (s *Server) logPanic(c echo.Context, err error, stack []byte) error {
	s.log.ErrorContext(c.Request().Context(), "panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
		"path", c.Request().URL.Path, "err", err, "stack", string(stack))
	return err
}

// retryAfterSeconds formats a wait for the Retry-After header: whole
// seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
