package handlers

import (
	"net/http"

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

// handleKeys shows the API keys page.
func (s *Server) handleKeys(c echo.Context) error {
	a, _ := actorOf(c)
	v, err := s.keysView(c, a)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.KeysPage(s.pageTakingFlashes(c, "API keys", "keys"), v))
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
		return render(c, errorStatus(c, err), views.KeysPage(s.pageTakingFlashes(c, "API keys", "keys"), v))
	}
	v.NewKey, v.NewKeyTitle = secret, k.Title
	return render(c, http.StatusOK, views.KeysPage(s.pageTakingFlashes(c, "API keys", "keys"), v))
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
