package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The HTML pages. Every action calls the same Service method as its API
// function, so the rules hold the same way for a browser and a client;
// handlers only read forms, choose what to render, and map errors with the
// one statusOf.

// Page security headers. The policy allows no inline script or style and
// no other origin; img-src allows data: for Pico's built-in icons.
const (
	contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	referrerPolicy = "same-origin"
	// auditPageLimit is how many audit events the organization page shows.
	auditPageLimit = 20
	// errorPageTimeout bounds the work of rendering an error page.
	errorPageTimeout = 5 * time.Second
	// ctxSession is the echo.Context key of the request's session.
	ctxSession = "guildhall.session"
)

// webPages is the state the pages need beyond the Service.
type webPages struct {
	store      *sessionStore
	csrf       *csrfGuard
	static     staticFiles
	assets     views.Assets
	signupOpen func() bool
}

// signupReporter is implemented by a service that can close sign-up.
type signupReporter interface{ SignupOpen() bool }

// newWebPages prepares sessions, CSRF and the static files from cfg. It
// returns nil when there is nowhere to keep sessions (a Service that
// cannot, and no Config.Sessions): the server then serves the API alone.
func newWebPages(svc Service, cfg Config, log *slog.Logger) *webPages {
	storage := cfg.Sessions
	if storage == nil {
		var ok bool
		if storage, ok = svc.(SessionStorage); !ok {
			return nil
		}
	}
	keys := cfg.SessionKeys
	if len(keys) == 0 {
		// Callers normally pass persistent keys (cmd/guildhall does); a
		// random one still works, but sign-ins end with the process.
		log.Warn("no session keys configured: using a random key, sessions end at restart")
		k := make([]byte, 64)
		rand.Read(k)
		keys = [][]byte{k}
	}
	idle, absolute := cfg.SessionIdleTimeout, cfg.SessionMaxAge
	if idle <= 0 {
		idle = DefaultSessionIdleTimeout
	}
	if absolute <= 0 {
		absolute = DefaultSessionMaxAge
	}
	static, err := loadStaticFiles(guildhall.Static)
	if err != nil {
		panic("handlers: reading the embedded static files: " + err.Error())
	}
	w := &webPages{
		store:      newSessionStore(storage, keys, cfg.SecureCookies, idle, absolute),
		csrf:       newCSRFGuard(keys, cfg.SecureCookies),
		static:     static,
		signupOpen: func() bool { return true },
	}
	w.assets = static.assets()
	if sr, ok := svc.(signupReporter); ok {
		w.signupOpen = sr.SignupOpen
	}
	return w
}

// setPageHeaders sets the security headers of every page.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	h.Set(echo.HeaderXFrameOptions, "DENY")
	h.Set(echo.HeaderReferrerPolicy, referrerPolicy)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Pages show private data: no shared cache keeps them, and the back
	// button after signing out shows nothing from before.
	h.Set(echo.HeaderCacheControl, "no-store")
}

// pageHeaders is the middleware form of setPageHeaders.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		setPageHeaders(c.Response().Header())
		return next(c)
	}
}

// withSession loads the visitor's session (signed in or not) into the context.
func (s *Server) withSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := s.loadSession(c); err != nil {
			return err
		}
		return next(c)
	}
}

// loadSession returns the request's session, loading it once.
func (s *Server) loadSession(c echo.Context) (*sessions.Session, error) {
	if sess := sessionOf(c); sess != nil {
		return sess, nil
	}
	sess, err := s.web.store.New(c.Request(), sessionCookieName)
	if err != nil {
		return nil, err
	}
	c.Set(ctxSession, sess)
	return sess, nil
}

// sessionOf returns the session withSession loaded, or nil.
func sessionOf(c echo.Context) *sessions.Session {
	sess, _ := c.Get(ctxSession).(*sessions.Session)
	return sess
}

// actorOf returns the signed-in user, if any.
func actorOf(c echo.Context) (guildhall.Actor, bool) {
	rec, ok := sessionRecord(sessionOf(c))
	if !ok {
		return guildhall.Actor{}, false
	}
	return rec.Actor(), true
}

// requireSignIn sends visitors who are not signed in to the login page,
// and back here afterwards.
func (s *Server) requireSignIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := actorOf(c); ok {
			return next(c)
		}
		target := "/login"
		if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if isHTMX(c) {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// isHTMX reports whether htmx sent the request (and will swap the answer).
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// formValue reads a field of the posted form (never the query string).
func formValue(c echo.Context, name string) string { return c.Request().PostForm.Get(name) }

// safeNext keeps a post-login destination only if it is a path on this
// site, so the login form cannot be used to send people elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return next
}

// page builds what every page shares. It takes the session's flash
// messages, which are therefore shown once.
func (s *Server) page(c echo.Context, title, section string) views.Page {
	sess := sessionOf(c)
	p := views.Page{
		Title:      title,
		CSRFToken:  s.web.csrf.token(c, sess),
		Assets:     s.web.assets,
		SignupOpen: s.web.signupOpen(),
		Section:    section,
	}
	if a, ok := actorOf(c); ok {
		p.User = a.Username
		taken := 0
		for _, kind := range []struct {
			name   string
			stored []any
		}{{views.FlashOK, sess.Flashes()}, {views.FlashError, sess.Flashes(flashErrorKey)}} {
			taken += len(kind.stored)
			for _, f := range kind.stored {
				if m, ok := f.(string); ok {
					p.Flashes = append(p.Flashes, views.Flash{Kind: kind.name, Message: m})
				}
			}
		}
		if taken > 0 {
			if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
				s.log.WarnContext(c.Request().Context(), "clear flash messages", "err", err)
			}
		}
	}
	return p
}

// flash keeps a message for the next page the signed-in visitor sees.
func (s *Server) flash(c echo.Context, kind, message string) error {
	sess := sessionOf(c)
	if sess == nil || sess.ID == "" {
		return nil
	}
	if kind == views.FlashError {
		sess.AddFlash(message, flashErrorKey)
	} else {
		sess.AddFlash(message)
	}
	return s.web.store.Save(c.Request(), c.Response(), sess)
}

// redirectWithFlash is the no-JavaScript answer to a form: a message for
// the next page, and a redirect to it.
func (s *Server) redirectWithFlash(c echo.Context, to, kind, message string) error {
	if err := s.flash(c, kind, message); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// render writes a component as the HTML answer with the given status.
func render(c echo.Context, status int, comp templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	return comp.Render(c.Request().Context(), c.Response())
}

// userFacing reports whether err is meant for the visitor (a refusal to
// show beside a form) rather than a fault for the error page.
func userFacing(err error) bool {
	switch guildhall.ErrorCode(err) {
	case guildhall.EINTERNAL, guildhall.EUNAVAILABLE:
		return false
	}
	return true
}

// setRetryAfter passes a rate limit's wait on to the client.
func setRetryAfter(c echo.Context, err error) {
	var ge *guildhall.Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
}

// errorTitle names a failure for the error page's heading.
func errorTitle(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "That did not work"
	case http.StatusUnauthorized:
		return "Please sign in"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusNotFound:
		return "Not found"
	case http.StatusConflict:
		return "Already done"
	case http.StatusGone:
		return "Expired"
	case http.StatusRequestEntityTooLarge:
		return "Too large"
	case http.StatusTooManyRequests:
		return "Too many attempts"
	case http.StatusMethodNotAllowed:
		return "Not allowed here"
	case http.StatusServiceUnavailable:
		return "Try again shortly"
	}
	return "Something went wrong"
}

// isAPIPath reports whether a path belongs to the JSON API, whose errors
// are JSON envelopes; everything else gets an HTML page.
func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }

// renderErrorPage answers a failed page request in HTML. To an htmx
// request it answers with a status line, retargeted to the status area.
func (s *Server) renderErrorPage(c echo.Context, status int, message string) {
	// The request's own context may be over (the deadline middleware
	// cancels it as the handler returns), yet the page must still render.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), errorPageTimeout)
	defer cancel()
	c.SetRequest(c.Request().WithContext(ctx))
	setPageHeaders(c.Response().Header())
	if isHTMX(c) {
		c.Response().Header().Set("HX-Retarget", "#status")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
		_ = render(c, status, views.StatusLine(views.Flash{Kind: views.FlashError, Message: message}))
		return
	}
	if _, err := s.loadSession(c); err != nil {
		// The session store is what failed: show the page to nobody in particular.
		c.Set(ctxSession, sessions.NewSession(s.web.store, sessionCookieName))
	}
	_ = render(c, status, views.ErrorPage(s.page(c, errorTitle(status), ""), status, message))
}

// parseID reads a numeric path parameter; anything else names nothing.
func parseID(c echo.Context, name, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, guildhall.Errorf(guildhall.ENOTFOUND, "There is no %s %q.", what, c.Param(name))
	}
	return id, nil
}

// ---- sign-in, sign-up, sign-out ----

// handleLoginPage shows the sign-in form.
func (s *Server) handleLoginPage(c echo.Context) error {
	if _, ok := actorOf(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	f := views.LoginForm{Next: safeNext(c.QueryParam("next"))}
	if c.QueryParam("signed_out") != "" {
		f.Notice = "You have signed out."
	}
	return render(c, http.StatusOK, views.LoginPage(s.page(c, "Sign in", "login"), f))
}

// handleLogin checks the password through the same Authenticate, with the
// same throttle, as the API's password auth, then starts a new session.
func (s *Server) handleLogin(c echo.Context) error {
	f := views.LoginForm{Username: strings.TrimSpace(formValue(c, "username")), Next: safeNext(formValue(c, "next"))}
	password := formValue(c, "password")
	if f.Username == "" || password == "" {
		f.Error = "Enter your username and password."
		return render(c, http.StatusBadRequest, views.LoginPage(s.page(c, "Sign in", "login"), f))
	}
	a, err := s.svc.Authenticate(c.Request().Context(), guildhall.Credentials{
		Username: f.Username, Password: password, ClientAddr: c.RealIP(),
	})
	if err != nil {
		if !userFacing(err) {
			return err
		}
		setRetryAfter(c, err)
		f.Error = guildhall.ErrorMessage(err)
		return render(c, statusOf(guildhall.ErrorCode(err)), views.LoginPage(s.page(c, "Sign in", "login"), f))
	}
	if err := s.startSession(c, a.UserID, ""); err != nil {
		return err
	}
	if f.Next == "" {
		f.Next = "/"
	}
	return c.Redirect(http.StatusSeeOther, f.Next)
}

// startSession signs userID in with a brand-new session id (never the one
// the visitor came with: no session fixation), ending any previous session.
func (s *Server) startSession(c echo.Context, userID int64, welcome string) error {
	if old := sessionOf(c); old != nil && old.ID != "" {
		if err := s.web.store.storage.DeleteSession(c.Request().Context(), old.ID); err != nil {
			return err
		}
	}
	sess := sessions.NewSession(s.web.store, sessionCookieName)
	opts := s.web.store.options
	sess.Options, sess.IsNew = &opts, true
	sess.Values[sessionUserKey] = userID
	if welcome != "" {
		sess.AddFlash(welcome)
	}
	if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	c.Set(ctxSession, sess)
	return nil
}

// handleLogout deletes the session row, so the old cookie, replayed,
// signs in nobody.
func (s *Server) handleLogout(c echo.Context) error {
	if sess := sessionOf(c); sess != nil {
		sess.Options.MaxAge = -1
		if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// handleSignupPage shows the sign-up form, when sign-up is open.
func (s *Server) handleSignupPage(c echo.Context) error {
	if !s.web.signupOpen() {
		return guildhall.Errorf(guildhall.ENOTFOUND, "Sign-up is closed on this server; ask an administrator for an account.")
	}
	if _, ok := actorOf(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.SignupPage(s.page(c, "Sign up", "signup"), views.SignupForm{}))
}

// handleSignup creates the account through the same SignUp as add_user,
// and signs the new user in.
func (s *Server) handleSignup(c echo.Context) error {
	f := views.SignupForm{Username: strings.TrimSpace(formValue(c, "username"))}
	password := formValue(c, "password")
	if password != formValue(c, "password_confirm") {
		f.Error = "The two passwords differ; type the same password twice."
		return render(c, http.StatusBadRequest, views.SignupPage(s.page(c, "Sign up", "signup"), f))
	}
	u, err := s.svc.SignUp(c.Request().Context(), f.Username, password)
	if err != nil {
		if !userFacing(err) {
			return err
		}
		f.Error = guildhall.ErrorMessage(err)
		return render(c, statusOf(guildhall.ErrorCode(err)), views.SignupPage(s.page(c, "Sign up", "signup"), f))
	}
	if err := s.startSession(c, u.ID, "Welcome to Guildhall, "+u.Username+". Create an organization, or wait for an invitation."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// ---- dashboard and organizations ----

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
	return render(c, http.StatusOK, views.DashboardPage(s.page(c, "Your organizations", "orgs"), d))
}

// handleNewOrganizationPage shows the create-organization form.
func (s *Server) handleNewOrganizationPage(c echo.Context) error {
	return render(c, http.StatusOK, views.NewOrganizationPage(s.page(c, "New organization", "orgs"), views.NewOrganizationForm{}))
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
		return render(c, statusOf(guildhall.ErrorCode(err)), views.NewOrganizationPage(s.page(c, "New organization", "orgs"), f))
	}
	return s.redirectWithFlash(c, "/orgs/"+strconv.FormatInt(org.ID, 10), views.FlashOK,
		"Created "+org.Name+". You are its owner; invite people below.")
}

// maxMembersPageNumber bounds ?page= so the offset stays an int on any platform.
const maxMembersPageNumber = 1_000_000

// organizationView gathers the organization page. Whether the audit trail
// shows is the service's decision: it refuses those who may not read it.
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
	members, err := s.svc.ListMembersPage(ctx, a, orgID, c.QueryParam("q"), (pageNo-1)*guildhall.MembersPageSize, guildhall.MembersPageSize)
	if err != nil {
		return views.OrganizationView{}, err
	}
	v := views.OrganizationView{Org: org, Role: role, Me: a.Username, Members: members.Members, MembersPage: members, Now: time.Now()}
	v.Audit, err = s.svc.AuditLog(ctx, a, orgID, auditPageLimit)
	switch guildhall.ErrorCode(err) {
	case "":
		v.ShowAudit, v.AuditTruncated = true, len(v.Audit) == auditPageLimit
	case guildhall.EFORBIDDEN:
		v.Audit = nil
	default:
		return views.OrganizationView{}, err
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
	return render(c, http.StatusOK, views.OrganizationPage(s.page(c, v.Org.Name, "orgs"), v))
}

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
		setRetryAfter(c, err)
		form.Error = guildhall.ErrorMessage(err)
		v.Invite = form
		status := statusOf(guildhall.ErrorCode(err))
		if isHTMX(c) {
			return render(c, status, views.InviteResult(s.web.csrf.token(c, sessionOf(c)), v, ""))
		}
		v.Invite.Focus = false
		return render(c, status, views.OrganizationPage(s.page(c, v.Org.Name, "orgs"), v))
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

// ---- API keys ----

// keysView lists the user's keys for the API keys page.
func (s *Server) keysView(c echo.Context, a guildhall.Actor) (views.KeysView, error) {
	keys, err := s.svc.ListAPIKeys(c.Request().Context(), a)
	return views.KeysView{Keys: keys}, err
}

// handleKeys shows the API keys page.
func (s *Server) handleKeys(c echo.Context) error {
	a, _ := actorOf(c)
	v, err := s.keysView(c, a)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.KeysPage(s.page(c, "API keys", "keys"), v))
}

// handleCreateKey creates a key through the same CreateAPIKey as the API
// and shows its secret in this answer only: it is never stored, not even
// in the session.
func (s *Server) handleCreateKey(c echo.Context) error {
	a, _ := actorOf(c)
	title := formValue(c, "title")
	k, secret, err := s.svc.CreateAPIKey(c.Request().Context(), a, title)
	if err != nil && !userFacing(err) {
		return err
	}
	v, verr := s.keysView(c, a)
	if verr != nil {
		return verr
	}
	if err != nil {
		v.Title, v.Error = title, guildhall.ErrorMessage(err)
		return render(c, statusOf(guildhall.ErrorCode(err)), views.KeysPage(s.page(c, "API keys", "keys"), v))
	}
	v.NewKey, v.NewKeyTitle = secret, k.Title
	return render(c, http.StatusOK, views.KeysPage(s.page(c, "API keys", "keys"), v))
}

// handleDeleteKey revokes a key through the same DeleteAPIKey as the API.
func (s *Server) handleDeleteKey(c echo.Context) error {
	a, _ := actorOf(c)
	id, err := parseID(c, "id", "API key")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteAPIKey(c.Request().Context(), a, id); err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectWithFlash(c, "/keys", views.FlashError, guildhall.ErrorMessage(err))
	}
	return s.redirectWithFlash(c, "/keys", views.FlashOK, "API key revoked; it no longer works.")
}
