package handlers

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The HTML pages: what every page shares. Every action calls the same
// Service method as its API function, so the rules hold the same way for a
// browser and a client; handlers only read forms, choose what to render,
// and answer failures through the one errorClasses table (errors.go). The
// pages themselves are in pages_auth.go, pages_org.go, pages_invite.go and
// pages_keys.go; the session middleware in session.go.

// Page security headers. The policy allows no inline script or style and
// no other origin; img-src allows data: for Pico's built-in icons.
const (
	contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	referrerPolicy = "same-origin"
)

// webPages is the state the pages need beyond the Service.
type webPages struct {
	store      *sessionStore
	csrf       *csrfGuard
	static     staticFiles
	assets     views.Assets
	signupOpen bool
}

// newWebPages prepares sessions, CSRF and the static files from cfg, whose
// Sessions must be set.
func newWebPages(cfg Config) *webPages {
	keys := cfg.SessionKeys
	if len(keys) == 0 {
		// Callers normally pass persistent keys (cmd/guildhall does); a
		// random one still works, but sign-ins end with the process.
		cfg.Logger.Warn("no session keys configured: using a random key, sessions end at restart")
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
	return &webPages{
		store:      newSessionStore(cfg.Sessions, keys, cfg.SecureCookies, idle, absolute),
		csrf:       newCSRFGuard(keys, cfg.SecureCookies),
		static:     static,
		assets:     static.assets(),
		signupOpen: !cfg.SignupClosed,
	}
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

// pageTakingFlashes builds what every page shares. It takes the session's
// flash messages to show them, which writes the session (they are shown
// once), so call it only for the page that is answered.
func (s *Server) pageTakingFlashes(c echo.Context, title, section string) views.Page {
	sess := sessionOf(c)
	p := views.Page{
		Title:      title,
		CSRFToken:  s.web.csrf.token(c, sess),
		Assets:     s.web.assets,
		SignupOpen: s.web.signupOpen,
		Section:    section,
	}
	if a, ok := actorOf(c); ok {
		p.User = a.Username
		p.Flashes = s.takeFlashes(c, sess)
	}
	return p
}

// render answers with a component as HTML under status. It renders into a
// buffer before writing anything, as templ's Echo example does: a template
// that fails then becomes an error for handleError (a logged 500), never a
// 200 cut off halfway that handleError could no longer replace.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return fmt.Errorf("render %T: %w", comp, err)
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		return c.NoContent(status)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// pageBuffers keep the buffers pages render into: a member list's page is
// tens of kilobytes, and growing a fresh buffer to that size for every
// request was a tenth of the page's CPU.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer bounds the buffers kept, the pages' and the API's
// answers', so that one huge page does not stay in memory.
const maxPooledBuffer = 1 << 20

// isHTMX reports whether htmx sent the request (and will swap the answer).
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// formValue reads a field of the posted form (never the query string).
func formValue(c echo.Context, name string) string { return c.Request().PostForm.Get(name) }

// Path parameters. The router hands them over decoded, so a parameter
// may hold "/", "?", "#" or "..": each is checked to be exactly what the
// pages' links put there, and anything else names nothing (404). A URL
// the server answers with is then built from the checked values, never
// from the request's path.

// parseID reads a numeric path parameter, written as the pages write ids
// (decimal digits, no sign, no leading zero); anything else names nothing.
func parseID(c echo.Context, name, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Param(name) {
		return 0, guildhall.Errorf(guildhall.ENOTFOUND, "There is no %s %q.", what, c.Param(name))
	}
	return id, nil
}

// usernameParam reads the :username path parameter: a username as it is
// stored (guildhall.ValidateUsername), as the pages link it; anything
// else names nobody.
func usernameParam(c echo.Context) (string, error) {
	name := c.Param("username")
	if guildhall.ValidateUsername(name) != nil {
		return "", guildhall.Errorf(guildhall.ENOTFOUND, "There is no member %q.", name)
	}
	return name, nil
}

// handleParam reads the :handle path parameter: a session's Handle
// (guildhall.ValidSessionHandle); anything else names no session.
func handleParam(c echo.Context) (string, error) {
	h := c.Param("handle")
	if !guildhall.ValidSessionHandle(h) {
		return "", guildhall.Errorf(guildhall.ENOTFOUND, "You have no such session; it may have ended already.")
	}
	return h, nil
}

// confirm answers the GET of a destructive action's URL with the question
// before it: to htmx a dialog for the page's dialog slot, to a browser
// without JavaScript a page of its own. Either posts to action, which the
// caller builds with the pages' own URL builders from the parameters it
// checked.
func (s *Server) confirm(c echo.Context, action string, conf views.Confirmation) error {
	conf.Action = action
	if isHTMX(c) {
		return render(c, http.StatusOK, views.ConfirmDialog(s.web.csrf.token(c, sessionOf(c)), conf))
	}
	return render(c, http.StatusOK, views.ConfirmPage(s.pageTakingFlashes(c, conf.Title, ""), conf))
}
