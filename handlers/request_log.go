package handlers

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// ctxActor is the echo.Context key of the API caller, once authenticated.
const ctxActor = "guildhall.actor"

// observeRequests logs every request once, when its answer is complete,
// and counts it in the metrics. The line carries the request id, method,
// route, status, duration, client address and, once known, the user id:
// never the raw URL (a ?parameters= query can hold a password), a header
// (Authorization, Cookie), or a body. It runs outside the recover
// middleware, so a panic is logged here as the 500 it became.
func (s *Server) observeRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err) // answer the failure now, so the status below is the one sent
		}
		took := time.Since(start)
		req, status := c.Request(), c.Response().Status
		method := methodLabel(req.Method)
		route, function := s.routeOf(c)
		if s.metrics != nil {
			s.metrics.observeRequest(method, route, status, took)
		}
		attrs := make([]slog.Attr, 0, 8)
		attrs = append(attrs, slog.String("request_id", requestID(c)), slog.String("method", method), slog.String("route", route))
		if function != "" {
			attrs = append(attrs, slog.String("function", function))
		}
		attrs = append(attrs, slog.Int("status", status), slog.Float64("duration_ms", float64(took.Microseconds())/1000),
			slog.String("client", c.RealIP()))
		if id, ok := requestUserID(c); ok {
			attrs = append(attrs, slog.Int64("user_id", id))
		}
		s.log.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

// routeOf names the request's route for the log and the metrics, from a
// bounded set: the registered pattern ("/orgs/:id"), /api/<function> for
// a registered API function (function is then its name), or one label for
// each kind of path that names nothing registered.
func (s *Server) routeOf(c echo.Context) (route, function string) {
	switch pattern := c.Path(); pattern {
	case "":
		return unmatchedRoute, ""
	case "/api/:function":
		name := c.Param("function")
		if _, ok := s.functions[name]; ok {
			return "/api/" + name, name
		}
		return unknownFunctionRoute, ""
	default:
		return pattern, ""
	}
}

// methodLabel is the request method if it is a standard one, else
// "other": a client may send any token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// setActor records the authenticated API caller, for the request's log line.
func setActor(c echo.Context, a guildhall.Actor) { c.Set(ctxActor, a) }

// requestUserID is the user the request acted for: the API caller, or the
// signed-in visitor of a page.
func requestUserID(c echo.Context) (int64, bool) {
	if a, ok := c.Get(ctxActor).(guildhall.Actor); ok {
		return a.UserID, true
	}
	if a, ok := actorOf(c); ok {
		return a.UserID, true
	}
	return 0, false
}
