package handlers

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The sign-in, sign-out and sign-up pages.

// safeNext keeps a post-login destination only if it is a page of this
// site, named as the pages name their own URLs: so the login form cannot
// send people elsewhere, nor to the API, nor to a path whose encoded
// "/", "\\", "?" or "#", or whose dot segments, the router would decode
// into other steps than the ones it shows (every page URL is plain: ids
// and usernames need no escaping).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" || u.Opaque != "" || u.User != nil {
		return ""
	}
	if u.EscapedPath() != u.Path || path.Clean(u.Path) != u.Path || isAPIPath(u.Path) {
		return ""
	}
	return next
}

// handleLoginPage shows the sign-in form.
func (s *Server) handleLoginPage(c echo.Context) error {
	if _, ok := actorOf(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	f := views.LoginForm{Next: safeNext(c.QueryParam("next"))}
	if c.QueryParam("signed_out") != "" {
		f.Notice = "You have signed out."
	}
	return render(c, http.StatusOK, views.LoginPage(s.pageTakingFlashes(c, "Sign in", "login"), f))
}

// handleLogin checks the password through the same Authenticate, with the
// same throttle, as the API's password auth, then starts a new session.
func (s *Server) handleLogin(c echo.Context) error {
	f := views.LoginForm{Username: strings.TrimSpace(formValue(c, "username")), Next: safeNext(formValue(c, "next"))}
	password := formValue(c, "password")
	if f.Username == "" || password == "" {
		f.Error = "Enter your username and password."
		return render(c, http.StatusBadRequest, views.LoginPage(s.pageTakingFlashes(c, "Sign in", "login"), f))
	}
	a, err := s.svc.Authenticate(c.Request().Context(), guildhall.Credentials{
		Username: f.Username, Password: password, ClientAddr: c.RealIP(),
	})
	if err == nil {
		// Refused if the password changed after it was checked.
		err = s.startSession(c, a, "")
	}
	if err != nil {
		if !userFacing(err) {
			return err
		}
		f.Error = guildhall.ErrorMessage(err)
		return render(c, errorStatus(c, err), views.LoginPage(s.pageTakingFlashes(c, "Sign in", "login"), f))
	}
	if f.Next == "" {
		f.Next = "/"
	}
	return c.Redirect(http.StatusSeeOther, f.Next)
}

// handleLogout deletes the session row, so the old cookie, replayed,
// signs in nobody.
func (s *Server) handleLogout(c echo.Context) error {
	if sess := sessionOf(c); sess != nil {
		if err := s.web.store.end(c.Request(), c.Response(), sess); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// handleSignupPage shows the sign-up form, when sign-up is open.
func (s *Server) handleSignupPage(c echo.Context) error {
	if !s.web.signupOpen {
		return guildhall.Errorf(guildhall.ENOTFOUND, "Sign-up is closed on this server; ask an administrator for an account.")
	}
	if _, ok := actorOf(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.SignupPage(s.pageTakingFlashes(c, "Sign up", "signup"), views.SignupForm{}))
}

// handleSignup creates the account through the same SignUp as add_user,
// and signs the new user in.
func (s *Server) handleSignup(c echo.Context) error {
	f := views.SignupForm{Username: strings.TrimSpace(formValue(c, "username"))}
	password := formValue(c, "password")
	if password != formValue(c, "password_confirm") {
		f.Error = "The two passwords differ; type the same password twice."
		f.PasswordMismatch = true
		return render(c, http.StatusBadRequest, views.SignupPage(s.pageTakingFlashes(c, "Sign up", "signup"), f))
	}
	u, err := s.svc.SignUp(c.Request().Context(), f.Username, password, c.RealIP())
	if err != nil {
		if !userFacing(err) {
			return err
		}
		f.Error = guildhall.ErrorMessage(err)
		return render(c, errorStatus(c, err), views.SignupPage(s.pageTakingFlashes(c, "Sign up", "signup"), f))
	}
	if err := s.startSession(c, guildhall.Actor{UserID: u.ID}, "Welcome to Guildhall, "+u.Username+". Create an organization, or wait for an invitation."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}
