package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// The API keys page.

// keysView lists the user's keys for the API keys page.
func (s *Server) keysView(c echo.Context, a guildhall.Actor) (views.KeysView, error) {
	keys, err := s.svc.ListAPIKeys(c.Request().Context(), a)
	return views.KeysView{Keys: keys}, err
}

// handleKeys shows the API keys page: with a key just created, its
// secret, which the redirect after creating it carried in the session,
// sealed (sealForSession), and which takeFlashes deletes from there as
// this page is shown.
func (s *Server) handleKeys(c echo.Context) error {
	a, _ := actorOf(c)
	v, err := s.keysView(c, a)
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	if sealed, ok := sess.Values[newAPIKeyKey].([]byte); ok {
		if created, err := openForSession(sess.ID, newAPIKeyKey, sealed); err == nil {
			v.NewKeyTitle, v.NewKey, _ = strings.Cut(string(created), flashNearSep)
		}
	}
	if values, refusal, ok := s.takeForm(c, views.NearKeys); ok {
		v.Title, v.Error = values.Get("title"), refusal
	}
	return render(c, http.StatusOK, views.KeysPage(s.pageTakingFlashes(c, "API keys", "keys"), v))
}

// handleCreateKey has the service check the current password
// (ConfirmPassword: a session alone may not create keys), creates a key
// through the same CreateAPIKey as the API, and redirects to the keys page, which shows its secret once
// (Post/Redirect/Get: reloading that page mints no second key). The
// secret rides in the session until that page is shown, and never again,
// sealed under a key derived from the session id, so that the session's
// row (which the database keeps under the id's hash) does not hold it.
func (s *Server) handleCreateKey(c echo.Context) error {
	a, _ := actorOf(c)
	ctx := c.Request().Context()
	title := formValue(c, "title")
	confirmed, err := s.svc.ConfirmPassword(ctx, a, formValue(c, "current_password"), c.RealIP())
	var k guildhall.APIKey
	var secret string
	if err == nil {
		k, secret, err = s.svc.CreateAPIKey(ctx, confirmed, title)
	}
	if err != nil {
		if !userFacing(err) {
			return err
		}
		return s.redirectWithForm(c, "/keys", views.NearKeys, err, url.Values{"title": {title}})
	}
	sess := sessionOf(c)
	sealed, err := sealForSession(sess.ID, newAPIKeyKey, []byte(k.Title+flashNearSep+secret))
	if err != nil {
		return err
	}
	sess.Values[newAPIKeyKey] = sealed
	if err := s.web.store.Save(c.Request(), c.Response(), sess); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/keys")
}

// handleDeleteKeyConfirm asks before revoking a key.
func (s *Server) handleDeleteKeyConfirm(c echo.Context) error {
	id, err := parseID(c, "id", "API key")
	if err != nil {
		return err
	}
	return s.confirm(c, views.DeleteKeyURL(id), views.Confirmation{
		Title:   "Revoke this API key?",
		Message: "Scripts that use it stop working at once. This cannot be undone.",
		Button:  "Revoke the key", Back: "/keys",
	})
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
		return s.redirectNear(c, "/keys", views.NearKeys, views.FlashError, guildhall.ErrorMessage(err))
	}
	return s.redirectNear(c, "/keys", views.NearKeys, views.FlashOK, "API key revoked; it no longer works.")
}
