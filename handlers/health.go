package handlers

import (
	"context"
	"database/sql"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// readyTimeout bounds the database reads of one /readyz: a probe that
// waits longer than a load balancer's own timeout tells it nothing.
const readyTimeout = 2 * time.Second

// Observable is what /readyz and the metrics read of the service, beside
// its operations.
type Observable interface {
	// Ready is nil when the service can serve: its database answers and
	// holds every migration this binary has. Otherwise it is a coded
	// error that says which, in words fit to show.
	Ready(ctx context.Context) error
	// PoolStats reports the use of each database connection pool, by name.
	PoolStats() map[string]sql.DBStats
}

// operationRoutes registers the endpoints for those who run the server:
// /healthz, /readyz and, unless it is served on its own listener, /metrics.
// They read no session and check no CSRF token (they change nothing), set
// no cookie, and answer GET and HEAD in plain text, cheaply: a load
// balancer or a scraper calls them every few seconds.
func (s *Server) operationRoutes(cfg Config) {
	readable := []string{http.MethodGet, http.MethodHead}
	s.echo.Match(readable, "/healthz", s.handleHealthz)
	s.echo.Match(readable, "/readyz", s.handleReadyz)
	if cfg.Metrics != nil && !cfg.MetricsServedElsewhere {
		s.echo.Match(readable, "/metrics", loopbackOnly(echo.WrapHandler(cfg.Metrics.Handler())))
	}
}

// loopbackOnly serves next to peers on this machine only, and answers
// everyone else as a path that does not exist (404): on the main
// listener, which the world may reach, the metrics (request rates,
// refusals, pool use) are for a scraper beside the server, and one
// elsewhere should be given --metrics-addr. The peer is the connection's
// own address, never X-Forwarded-For, which a client writes itself (and
// which a proxy on this machine would make every request's peer loopback:
// put such a proxy's /metrics behind its own rule, or use --metrics-addr).
func loopbackOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		peer, err := netip.ParseAddrPort(c.Request().RemoteAddr)
		if err != nil || !peer.Addr().Unmap().IsLoopback() {
			return echo.ErrNotFound
		}
		return next(c)
	}
}

// handleHealthz answers 200 while the process serves requests at all: it
// asks nothing of the database, so a restart is never prescribed for a
// database that is only slow.
func (s *Server) handleHealthz(c echo.Context) error {
	return answerProbe(c, http.StatusOK, "ok")
}

// handleReadyz answers 200 when the service can take requests (the
// database answers, its migrations are current), else 503 with the reason:
// a load balancer sends traffic elsewhere until it is ready.
func (s *Server) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := s.svc.Ready(ctx); err != nil {
		if guildhall.ErrorCode(err) == guildhall.EINTERNAL {
			s.log.ErrorContext(ctx, "readiness check", "request_id", requestID(c), "err", err)
		}
		return answerProbe(c, http.StatusServiceUnavailable, guildhall.ErrorMessage(err))
	}
	return answerProbe(c, http.StatusOK, "ok")
}

// answerProbe answers a probe in plain text that no cache keeps.
func answerProbe(c echo.Context, status int, text string) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.String(status, text+"\n")
}
