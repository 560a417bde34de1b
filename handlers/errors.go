package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// errorPageTimeout bounds the work of rendering an error page.
const errorPageTimeout = 5 * time.Second

// errorClass is how a failure is answered: its HTTP status, and the heading
// of the error page that shows it to a person.
type errorClass struct {
	status int
	title  string
}

// errorClasses maps every error code to its answer, for the JSON API and
// the pages alike: the one place that does.
var errorClasses = map[string]errorClass{
	guildhall.EINVALID:      {http.StatusBadRequest, "That did not work"},
	guildhall.EUNAUTHORIZED: {http.StatusUnauthorized, "Please sign in"},
	guildhall.EFORBIDDEN:    {http.StatusForbidden, "Not allowed"},
	guildhall.ENOTFOUND:     {http.StatusNotFound, "Not found"},
	guildhall.ECONFLICT:     {http.StatusConflict, "Already done"},
	guildhall.EGONE:         {http.StatusGone, "Expired"},
	guildhall.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "Too large"},
	guildhall.EIDEMPOTENCY:  {http.StatusUnprocessableEntity, "Key already used"},
	guildhall.ERATELIMITED:  {http.StatusTooManyRequests, "Too many attempts"},
	guildhall.EUNAVAILABLE:  {http.StatusServiceUnavailable, "Try again shortly"},
	guildhall.EINTERNAL:     {http.StatusInternalServerError, "Something went wrong"},
}

// methodNotAllowed answers a method a route does not take. It is Echo's
// own refusal, coded EINVALID (the caller's mistake), but keeps its 405.
var methodNotAllowed = errorClass{http.StatusMethodNotAllowed, "Not allowed here"}

// failureClass returns how err is answered, and passes a rate limit's wait
// on in Retry-After: every answer to a failure (the JSON envelope, the
// error page, a form shown again with its message) gets both here.
func failureClass(c echo.Context, err error) errorClass {
	var ge *guildhall.Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", retryAfterSeconds(ge.RetryAfter))
	}
	return classOf(guildhall.ErrorCode(err))
}

// classOf is the class of an error code: an internal error's for a code
// the table does not know.
func classOf(code string) errorClass {
	if class, ok := errorClasses[code]; ok {
		return class
	}
	return errorClasses[guildhall.EINTERNAL]
}

// failureOf is the envelope that answers err.
func failureOf(err error) failure {
	return failure{Success: false, Error: guildhall.ErrorMessage(err), Code: guildhall.ErrorCode(err)}
}

// errorStatus is the HTTP status that answers err (see failureClass).
func errorStatus(c echo.Context, err error) int { return failureClass(c, err).status }

// retryAfterSeconds formats a wait for the Retry-After header: whole
// seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// userFacing reports whether err is meant for the visitor (a refusal to
// show beside a form) rather than a fault for the error page.
func userFacing(err error) bool {
	switch guildhall.ErrorCode(err) {
	case guildhall.EINTERNAL, guildhall.EUNAVAILABLE:
		return false
	}
	return true
}

// fromEchoError turns Echo's own errors (no route, wrong method, a
// middleware's refusal) into coded errors.
func fromEchoError(he *echo.HTTPError) *guildhall.Error {
	switch he.Code {
	case http.StatusNotFound:
		return guildhall.Errorf(guildhall.ENOTFOUND, "Not found.")
	case http.StatusMethodNotAllowed:
		return guildhall.Errorf(guildhall.EINVALID, "This method is not allowed here; use GET or POST.")
	case http.StatusRequestEntityTooLarge:
		return guildhall.Errorf(guildhall.ETOOLARGE, "The request body is too large.")
	case http.StatusForbidden:
		return guildhall.Errorf(guildhall.EFORBIDDEN, "Forbidden.")
	case http.StatusBadRequest:
		return guildhall.Errorf(guildhall.EINVALID, "Bad request.")
	}
	return nil
}

// handleError answers every failure: the error envelope under /api, an
// error page elsewhere. Errors that are not coded are logged with the
// request id and shown as "Internal error.".
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		// Handlers render into a buffer before writing (see render), so
		// this is a failure after a complete answer: only the log can tell.
		s.log.WarnContext(c.Request().Context(), "error after the answer was sent",
			"request_id", requestID(c), "path", c.Request().URL.Path, "err", err)
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if ge := fromEchoError(he); ge != nil {
			err = ge
		}
	}
	code := guildhall.ErrorCode(err)
	class := failureClass(c, err)
	if he != nil && he.Code == http.StatusMethodNotAllowed {
		class = methodNotAllowed
	}
	if code == guildhall.EINTERNAL {
		s.log.ErrorContext(c.Request().Context(), "internal error", "request_id", requestID(c),
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	body := failureOf(err)
	if c.Request().Method == http.MethodHead {
		c.NoContent(class.status)
		return
	}
	if s.web != nil && !isAPIPath(c.Request().URL.Path) {
		s.renderErrorPage(c, class, body.Error)
		return
	}
	c.JSON(class.status, body)
}

// failure is the envelope of every error answer.
type failure struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Code    string `json:"code"`
}

// requestID is the id the RequestID middleware gave this request, which
// the logs carry so an "internal error" can be found.
func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// logPanic logs a recovered panic; the client sees only the generic 500.
func (s *Server) logPanic(c echo.Context, err error, stack []byte) error {
	s.log.ErrorContext(c.Request().Context(), "panic", "request_id", requestID(c),
		"path", c.Request().URL.Path, "err", err, "stack", string(stack))
	return err
}

// isAPIPath reports whether a path belongs to the JSON API, whose errors
// are JSON envelopes; everything else gets an HTML page.
func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }

// renderErrorPage answers a failed page request in HTML. To an htmx
// request it answers with a status line, retargeted to the status area.
func (s *Server) renderErrorPage(c echo.Context, class errorClass, message string) {
	// The request's own context may be over (the deadline middleware
	// cancels it as the handler returns), yet the page must still render.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), errorPageTimeout)
	defer cancel()
	c.SetRequest(c.Request().WithContext(ctx))
	setPageHeaders(c.Response().Header())
	var err error
	if isHTMX(c) {
		// Beside what the request targeted (the member list, say), with any
		// confirmation dialog closed: the action it asked about was refused.
		c.Response().Header().Set("HX-Retarget", views.StatusAreaFor(c.Request().Header.Get("HX-Target")))
		c.Response().Header().Set("HX-Reswap", "innerHTML")
		err = render(c, class.status, views.ErrorLine(message))
	} else {
		if _, err := s.loadSession(c); err != nil {
			// The session store is what failed: show the page to nobody in particular.
			c.Set(ctxSession, s.web.store.anonymous())
		}
		err = render(c, class.status, views.ErrorPage(s.pageTakingFlashes(c, class.title, ""), class.status, message))
	}
	if err != nil {
		// Nothing was written (render buffers): say it in plain text.
		s.log.ErrorContext(ctx, "render the error page", "request_id", requestID(c), "err", err)
		c.String(class.status, message)
	}
}
