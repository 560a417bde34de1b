package handlers

import (
	"crypto/rand"

	"github.com/labstack/echo/v4"
)

// RequestIDMaxLen is the longest X-Request-Id accepted from a client.
const RequestIDMaxLen = 64

// withRequestID gives every request an id, answered in X-Request-Id and
// carried by every log line about the request, so that an "internal error"
// a client reports can be found. A client's own X-Request-Id (from a proxy
// that tags requests, say) is kept only if it is 1 to RequestIDMaxLen
// characters of [A-Za-z0-9._-]: anything else (60,000 characters, tabs,
// a line break that forges a log line) is replaced by a fresh id.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = rand.Text()
			r.Header.Set(echo.HeaderXRequestID, id)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// validRequestID reports whether a client's request id may be kept.
func validRequestID(id string) bool {
	if id == "" || len(id) > RequestIDMaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
