package handlers

import (
	"net/http"
	"net/url"
	"strings"

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

// startSession signs a in with a brand-new session id (never the one the
// visitor came with: no session fixation), ending any previous session.
// If a's password was checked (a.PasswordStamp) and has changed since,
// no session starts: the error is the service's bad-credential one.
func (s *Server) startSession(c echo.Context, a guildhall.Actor, welcome string) error {
	if err := s.web.store.deleteRow(c.Request().Context(), sessionOf(c)); err != nil {
		return err
	}
	sess := s.web.store.signedIn(a)
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

// flashNearSep separates, in a stored flash, the status area it belongs
// near from its message (see views.Flash.Near).
const flashNearSep = "\x1f"

// Session keys for what a redirect carries to the page after it, besides
// flashes: a refused form's values and message (formEchoKey), and a new
// API key's secret, shown once (newAPIKeyKey).
const (
	formEchoKey  = "_form"
	newAPIKeyKey = "_new_api_key"
)

// takeFlashes removes the session's flash messages, and what else a
// redirect carried that the page did not take (a form's values, a new
// key's secret: they must not outlive the page after the redirect), and
// returns the messages for the page about to be shown. A HEAD request
// shows no page, so it leaves them all for the next GET.
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
				near, message, found := strings.Cut(m, flashNearSep)
				if !found {
					near, message = "", m
				}
				out = append(out, views.Flash{Kind: kind.name, Message: message, Near: near})
			}
		}
	}
	for _, key := range []string{formEchoKey, newAPIKeyKey} {
		if _, ok := sess.Values[key]; ok {
			delete(sess.Values, key)
			taken++
		}
	}
	if taken > 0 {
		if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
			s.log.WarnContext(c.Request().Context(), "clear flash messages", "err", err)
		}
	}
	return out
}

// flash keeps a message for the status area near (views.Near*) of the
// next page the signed-in visitor sees.
func (s *Server) flash(c echo.Context, kind, near, message string) error {
	sess := sessionOf(c)
	if sess == nil || sess.ID == "" {
		return nil
	}
	if near != views.NearTop {
		message = near + flashNearSep + message
	}
	if kind == views.FlashError {
		sess.AddFlash(message, flashErrorKey)
	} else {
		sess.AddFlash(message)
	}
	return s.web.store.Save(c.Request(), c.Response(), sess)
}

// redirectWithFlash is the no-JavaScript answer to a form: a message for
// the top of the next page, and a redirect to it.
func (s *Server) redirectWithFlash(c echo.Context, to, kind, message string) error {
	return s.redirectNear(c, to, views.NearTop, kind, message)
}

// redirectNear answers a form with a redirect to the page at to, scrolled
// to the section near, whose status area shows message.
func (s *Server) redirectNear(c echo.Context, to, near, kind, message string) error {
	if err := s.flash(c, kind, near, message); err != nil {
		return err
	}
	if near != views.NearTop {
		to += "#" + near
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// redirectWithForm answers a refused form without JavaScript: its values
// and the refusal ride in the session to the page at to (Post/Redirect/Get,
// so reloading that page sends nothing again), which puts them back in
// the form by takeForm. Passwords are never among the values. A form whose
// answer is more than a message (the bulk invite's rows) comes back this
// way too, with err nil.
func (s *Server) redirectWithForm(c echo.Context, to, form string, err error, values url.Values) error {
	sess := sessionOf(c)
	if values == nil {
		values = url.Values{}
	}
	values.Set("_form", form)
	values.Set("_error", guildhall.ErrorMessage(err))
	sess.Values[formEchoKey] = values.Encode()
	if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to+"#"+form)
}

// takeForm returns the values and refusal redirectWithForm kept for the
// form named form; the page's takeFlashes then forgets them.
func (s *Server) takeForm(c echo.Context, form string) (url.Values, string, bool) {
	raw, ok := sessionOf(c).Values[formEchoKey].(string)
	if !ok {
		return nil, "", false
	}
	values, err := url.ParseQuery(raw)
	if err != nil || values.Get("_form") != form {
		return nil, "", false
	}
	return values, values.Get("_error"), true
}
