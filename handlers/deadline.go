package handlers

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
)

// RequestTimeout bounds the work one request may cause: its context, which
// every service call receives and the database honours, ends this long
// after the request arrives. A write still waiting for the writer then
// gives up (under group commit too, if the committer has not started it),
// and a running statement is interrupted, except one in a group commit,
// which finishes so that the answer says truly whether it was written.
// It is shorter than the server's write timeout, so the client still gets
// the 503 envelope rather than a dropped connection.
const RequestTimeout = 15 * time.Second

// requestDeadline gives each request's context the RequestTimeout deadline.
func requestDeadline(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}
