package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The account page: change the password, see and end sessions.

// handleAccount shows the account page, with the password form's refusal
// after a failed change.
func (s *Server) handleAccount(c echo.Context) error {
	a, _ := actorOf(c)
	sessions, err := s.svc.ListSessions(c.Request().Context(), a, s.web.store.idle)
	if err != nil {
		return err
	}
	rec, _ := sessionRecord(sessionOf(c))
	v := views.AccountView{Sessions: sessions, Current: rec.Handle, Now: time.Now()}
	if values, refusal, ok := s.takeForm(c, views.NearPassword); ok {
		v.PasswordError, v.FocusNew = refusal, values.Get("focus") == "new"
	}
	return render(c, http.StatusOK, views.AccountPage(s.pageTakingFlashes(c, "Your account", "account"), v))
}

// handleChangePassword has the service check the current password
// (ConfirmPassword, with the login throttle: a session alone may not
// change it) and changes it through the same ChangePassword as
// change_password, which signs every session out; this browser is then
// signed in again with a new session.
func (s *Server) handleChangePassword(c echo.Context) error {
	a, _ := actorOf(c)
	ctx := c.Request().Context()
	current, next := formValue(c, "current_password"), formValue(c, "new_password")
	refuse := func(err error, focusNew bool) error {
		values := map[string][]string{}
		if focusNew {
			values["focus"] = []string{"new"}
		}
		return s.redirectWithForm(c, "/account", views.NearPassword, err, values)
	}
	if next != formValue(c, "new_password_confirm") {
		return refuse(guildhall.Errorf(guildhall.EINVALID, "The two new passwords differ; type the same new password twice."), true)
	}
	confirmed, err := s.svc.ConfirmPassword(ctx, a, current, c.RealIP())
	if err != nil {
		if !userFacing(err) {
			return err
		}
		return refuse(err, false)
	}
	if err := s.svc.ChangePassword(ctx, confirmed, next); err != nil {
		if !userFacing(err) {
			return err
		}
		return refuse(err, true)
	}
	if err := s.startSession(c, guildhall.Actor{UserID: a.UserID}, ""); err != nil {
		return err
	}
	return s.redirectNear(c, "/account", views.NearPassword, views.FlashOK,
		"Password changed. Your other sessions and your sign-in tokens have ended; API keys keep working.")
}

// handleEndSessionConfirm asks before signing out another session.
func (s *Server) handleEndSessionConfirm(c echo.Context) error {
	handle, err := handleParam(c)
	if err != nil {
		return err
	}
	return s.confirm(c, views.EndSessionURL(handle), views.Confirmation{
		Title:   "Sign out that session?",
		Message: "The browser it belongs to is signed out at once, and must sign in again with your password.",
		Button:  "Sign it out", Back: "/account",
	})
}

// handleEndSession signs out one of the user's other sessions.
func (s *Server) handleEndSession(c echo.Context) error {
	a, _ := actorOf(c)
	handle, err := handleParam(c)
	if err != nil {
		return err
	}
	if err := s.svc.EndSession(c.Request().Context(), a, handle); err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectNear(c, "/account", views.NearSessions, views.FlashError, guildhall.ErrorMessage(err))
	}
	return s.redirectNear(c, "/account", views.NearSessions, views.FlashOK, "That session is signed out.")
}
