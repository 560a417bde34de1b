package handlers

import (
	"net/http"
	"net/url"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The visitor's session as the pages use it: loaded once per request,
// required for the member pages, replaced at sign-in, and carrying flash
// messages to the next page. Where it is stored is session_store.go's.

// ctxSession is the echo.Context key of the request's session.
const ctxSession = "guildhall.session"

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
		if r := c.Request(); (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if isHTMX(c) {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// startSession signs userID in with a brand-new session id (never the one
// the visitor came with: no session fixation), ending any previous session.
func (s *Server) startSession(c echo.Context, userID int64, welcome string) error {
	if err := s.web.store.deleteRow(c.Request().Context(), sessionOf(c)); err != nil {
		return err
	}
	sess := s.web.store.signedIn(userID)
	if welcome != "" {
		sess.AddFlash(welcome)
	}
	if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	c.Set(ctxSession, sess)
	return nil
}

// flashErrorKey holds flash messages that report a refusal; gorilla's
// default flash key holds the good news.
const flashErrorKey = "_flash_error"

// takeFlashes removes the session's flash messages and returns them for
// the page about to be shown. A HEAD request shows no page, so it leaves
// them for the next GET.
func (s *Server) takeFlashes(c echo.Context, sess *sessions.Session) []views.Flash {
	if c.Request().Method == http.MethodHead {
		return nil
	}
	var out []views.Flash
	taken := 0
	for _, kind := range []struct {
		name   string
		stored []any
	}{{views.FlashOK, sess.Flashes()}, {views.FlashError, sess.Flashes(flashErrorKey)}} {
		taken += len(kind.stored)
		for _, f := range kind.stored {
			if m, ok := f.(string); ok {
				out = append(out, views.Flash{Kind: kind.name, Message: m})
			}
		}
	}
	if taken > 0 {
		if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
			s.log.WarnContext(c.Request().Context(), "clear flash messages", "err", err)
		}
	}
	return out
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
