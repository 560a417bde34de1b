package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// CSRF protection for the pages. A token is an HMAC of the session id, so
// it is tied to one sign-in and changes at every login. Before sign-in
// (the login and sign-up forms) it is tied instead to a signed random
// "pre-session" cookie, which costs no database row. Every state-changing
// page request must carry the token (hidden field csrf_token, or the
// X-CSRF-Token header htmx sends from hx-headers) and must not come from
// another site, as net/http's CrossOriginProtection judges by Sec-Fetch-Site
// and Origin. The JSON API never reads cookies, so it needs no token.
const (
	// preSessionCookieName names the cookie that binds forms shown before sign-in.
	preSessionCookieName = "guildhall_presession"
	// MaxFormBytes bounds the body of a page form post: 64 KiB.
	MaxFormBytes = 64 << 10
)

// errCSRF is the answer to a post without a valid token.
var errCSRF = guildhall.Errorf(guildhall.EFORBIDDEN,
	"This form has expired or did not come from this site. Reload the page and try again.")

// errCrossSite is the answer to a post sent from another site.
var errCrossSite = guildhall.Errorf(guildhall.EFORBIDDEN, "Requests from other sites are refused.")

// csrfGuard makes and checks CSRF tokens, and refuses cross-origin posts.
type csrfGuard struct {
	keys    [][]byte // the session signing keys; the first makes tokens, all verify
	codecs  []securecookie.Codec
	options sessions.Options
	// crossOrigin refuses a post a browser says comes from another origin:
	// Sec-Fetch-Site other than same-origin or none (a user's own
	// navigation), or, from browsers that do not send it, an Origin whose
	// host is not this one. Clients that send neither (curl, old browsers)
	// still need the token.
	crossOrigin *http.CrossOriginProtection
}

func newCSRFGuard(keys [][]byte, secure bool) *csrfGuard {
	pairs := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, nil)
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(securecookie.NopEncoder{})
			sc.MaxAge(0) // the cookie lives as long as the browser session
		}
	}
	return &csrfGuard{keys: keys, codecs: codecs, options: sessions.Options{
		Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	}, crossOrigin: http.NewCrossOriginProtection()}
}

// tokenFor computes the token bound to binding under key.
func tokenFor(key []byte, binding string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("guildhall csrf token\x00"))
	mac.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// binding names what a token is tied to: the session if signed in, else
// the pre-session cookie, which is created when create is true.
func (g *csrfGuard) binding(c echo.Context, sess *sessions.Session, create bool) string {
	if sess != nil && sess.ID != "" {
		return "session:" + sess.ID
	}
	if ck, err := c.Cookie(preSessionCookieName); err == nil {
		var raw []byte
		if securecookie.DecodeMulti(preSessionCookieName, ck.Value, &raw, g.codecs...) == nil {
			return "pre:" + string(raw)
		}
	}
	if !create {
		return ""
	}
	b := make([]byte, sessionIDBytes)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	encoded, err := securecookie.EncodeMulti(preSessionCookieName, []byte(id), g.codecs...)
	if err != nil {
		return ""
	}
	opts := g.options
	http.SetCookie(c.Response(), sessions.NewCookie(preSessionCookieName, encoded, &opts))
	// Later reads in this request (a second form on the page) see it too.
	c.Request().AddCookie(&http.Cookie{Name: preSessionCookieName, Value: encoded})
	return "pre:" + id
}

// token returns the token the current page's forms carry.
func (g *csrfGuard) token(c echo.Context, sess *sessions.Session) string {
	b := g.binding(c, sess, true)
	if b == "" {
		return ""
	}
	return tokenFor(g.keys[0], b)
}

// valid reports whether token belongs to this request's session (or
// pre-session), under any of the keys.
func (g *csrfGuard) valid(c echo.Context, sess *sessions.Session, token string) bool {
	b := g.binding(c, sess, false)
	if b == "" || token == "" {
		return false
	}
	for _, k := range g.keys {
		if hmac.Equal([]byte(tokenFor(k, b)), []byte(token)) {
			return true
		}
	}
	return false
}

// checkCSRF guards every state-changing page request: it must come from
// this site and carry the token of the visitor's session. It runs before
// the handler, so a refused request changes nothing.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if s.web.csrf.crossOrigin.Check(r) != nil {
			return errCrossSite
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return guildhall.Errorf(guildhall.ETOOLARGE, "The form is larger than %d bytes.", MaxFormBytes)
			}
			return guildhall.Errorf(guildhall.EINVALID, "The form could not be read.")
		}
		token := r.Header.Get(views.CSRFHeader)
		if token == "" {
			token = r.PostForm.Get(views.CSRFField)
		}
		if !s.web.csrf.valid(c, sessionOf(c), token) {
			return errCSRF
		}
		if err := formIsText(r.PostForm); err != nil {
			return err
		}
		return next(c)
	}
}

// formIsText refuses a form with a name or value that is not valid UTF-8
// (raw bytes posted as they are, or percent-encoded): no handler then
// has to think about it, and nothing of it is stored. Which characters a
// stored text may hold is the service's rule (guildhall.TextField).
func formIsText(form url.Values) error {
	for name, values := range form {
		if !utf8.ValidString(name) {
			return errFormNotText
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return guildhall.Errorf(guildhall.EINVALID, "The field %q is not valid UTF-8 text.", name)
			}
		}
	}
	return nil
}

// errFormNotText is the answer to a form whose field names are not text.
var errFormNotText = guildhall.Errorf(guildhall.EINVALID, "The form is not valid UTF-8 text.")
