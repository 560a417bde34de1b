package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// MaxBodyBytes is the largest request body the API reads: 1 MiB.
const MaxBodyBytes = 1 << 20

// Idempotent writes (see db.Idempotent).
const (
	// HeaderIdempotencyKey names a write so that a retry runs nothing.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed marks an answer given again to a retry.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
	// idempotencyLease is how long a request holds its key before a retry
	// may take it over: twice what a request may take (RequestTimeout), so
	// only a request whose process died loses its key.
	idempotencyLease = 2 * RequestTimeout
)

// handleAPI dispatches /api/<function> (GET or POST) through the registry.
func (s *Server) handleAPI(c echo.Context) error {
	name := c.Param("function")
	fn, ok := s.functions[name]
	if !ok {
		return guildhall.Errorf(guildhall.ENOTFOUND, "There is no API function named %q; GET /api/help lists them.", name)
	}
	raw, err := readArguments(c.Request())
	if err != nil {
		return err
	}
	args, err := fn.decode(raw)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(c.Request(), fn)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var actor guildhall.Actor
	if fn.auth() != authNone {
		if args.auth == nil {
			args.auth = bearer(c.Request())
		}
		if args.auth == nil {
			return guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication required: send auth with an api_key, a sign-in token, or a username and password.")
		}
		args.auth.ClientAddr = c.RealIP()
		if actor, err = s.svc.Authenticate(ctx, *args.auth); err != nil {
			return err
		}
		setActor(c, actor)
		if fn.password != "" {
			if err := guildhall.RequirePassword(actor, fn.password); err != nil {
				return err
			}
		}
		if fn.token {
			if err := guildhall.RequireToken(actor); err != nil {
				return err
			}
		}
	}
	if key != "" {
		return s.callIdempotent(c, fn, actor, args, key)
	}
	result, err := fn.call(c, actor, args)
	if err != nil {
		return err
	}
	switch r := result.(type) {
	case nil:
		return c.JSONBlob(http.StatusOK, successAlone)
	case jsonAppender:
		buf := answerBuffers.Get().(*[]byte)
		b := append((*buf)[:0], `{"success":true,"result":`...)
		b = append(r.appendJSON(b), "}\n"...)
		err := c.JSONBlob(http.StatusOK, b) // written out before it returns
		if cap(b) <= maxPooledBuffer {
			*buf = b
			answerBuffers.Put(buf)
		}
		return err
	}
	return c.JSON(http.StatusOK, success{Success: true, Result: result})
}

// answerBuffers keep the buffers the lists' answers are written into for
// the next answer: a page of members is tens of kilobytes, and growing a
// new buffer to that size for each answer was a third of the bytes the
// API's reads allocated. A buffer grown past maxPooledBuffer (a page of a
// thousand rows is about 200 kB) is left to the collector, as the pages'
// are (pageBuffers).
var answerBuffers = sync.Pool{New: func() any { return new([]byte) }}

// successAlone is the answer of a call that returns nothing, as c.JSON
// writes it, made once: most writes answer with it.
var successAlone = []byte("{\"success\":true}\n")

// idempotencyKey reads the request's Idempotency-Key for fn: "" when there
// is none, or when fn only reads (a retry of a read is always safe); a
// refusal when fn mints a secret or sets a password (see effect).
func idempotencyKey(r *http.Request, fn *function) (string, error) {
	keys := r.Header.Values(HeaderIdempotencyKey)
	switch {
	case len(keys) == 0 || fn.effect == reads:
		return "", nil
	case fn.effect == mintsSecret:
		return "", guildhall.Errorf(guildhall.EINVALID, "%s takes no Idempotency-Key: its answer is a new secret, which the server never stores, so it cannot be given again.", fn.Name)
	case fn.effect == setsPassword:
		return "", guildhall.Errorf(guildhall.EINVALID, "%s takes no Idempotency-Key: a key is kept with a fast hash of the arguments, and a password must never be. After a lost answer, sign in with the new password to see whether the change took.", fn.Name)
	case len(keys) > 1:
		return "", guildhall.Errorf(guildhall.EINVALID, "Give Idempotency-Key once.")
	}
	return keys[0], guildhall.ValidateIdempotencyKey(keys[0])
}

// callIdempotent runs a write sent with an Idempotency-Key: once per user
// and key. The answer is rendered inside the write's transaction and
// stored with it, so a retry gets the same bytes (Idempotent-Replayed:
// true) even if this process dies before answering.
func (s *Server) callIdempotent(c echo.Context, fn *function, actor guildhall.Actor, a args, key string) error {
	call := guildhall.IdempotentCall{UserID: actor.UserID, Key: key, Fingerprint: a.fingerprint(fn.Name)}
	req := c.Request()
	ans, replayed, err := s.svc.Idempotent(req.Context(), call, idempotencyLease, func(ctx context.Context) (guildhall.Answer, error) {
		// The service calls fn makes join the transaction ctx carries.
		c.SetRequest(req.WithContext(ctx))
		defer c.SetRequest(req)
		result, err := fn.call(c, actor, a)
		if err != nil {
			code := guildhall.ErrorCode(err)
			if !guildhall.AnswerIsFinal(code) {
				return guildhall.Answer{}, err
			}
			return encodeAnswer(classOf(code).status, failureOf(err))
		}
		return encodeAnswer(http.StatusOK, success{Success: true, Result: result})
	})
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set(HeaderIdempotentReplayed, "true")
	}
	return c.JSONBlob(ans.Status, ans.Body)
}

// encodeAnswer renders an envelope as Echo's c.JSON would.
func encodeAnswer(status int, envelope any) (guildhall.Answer, error) {
	body, err := json.Marshal(envelope)
	if err != nil {
		return guildhall.Answer{}, err
	}
	return guildhall.Answer{Status: status, Body: append(body, '\n')}, nil
}

// success is the envelope of every answer that worked; failure (in
// server.go) of every one that did not.
type success struct {
	Success bool   `json:"success"`
	Result  any    `json:"result,omitempty"`
	Note    string `json:"note,omitempty"`
}

// bearer reads "Authorization: Bearer <secret>": an API key or a sign-in
// token, told apart by shape.
func bearer(r *http.Request) *guildhall.Credentials {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil
	}
	creds := guildhall.CredentialsFromSecret(strings.TrimSpace(h[len(prefix):]))
	return &creds
}

// readArguments returns the call's arguments as one JSON object's members:
// from the body (on GET too, as QueryLake's clients send them) or from the
// URL-encoded JSON in ?parameters=.
func readArguments(r *http.Request) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, guildhall.Errorf(guildhall.ETOOLARGE, "The request body is larger than %d bytes.", MaxBodyBytes)
	} else if err != nil {
		return nil, guildhall.Errorf(guildhall.EINVALID, "The request body could not be read.")
	}
	body = bytes.TrimSpace(body)
	if r.URL.RawQuery == "" && len(body) > 0 {
		return decodeObject(body, "The request body")
	}
	query := r.URL.Query()
	for key := range query {
		if key != "parameters" {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Unknown query parameter %q: pass arguments as JSON in the body or in ?parameters=.", key)
		}
	}
	params, inQuery := query["parameters"]
	switch {
	case len(body) > 0 && inQuery:
		return nil, guildhall.Errorf(guildhall.EINVALID, "Send arguments either in the body or in ?parameters=, not both.")
	case inQuery:
		if len(params) != 1 {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Give ?parameters= once.")
		}
		if len(params[0]) > MaxBodyBytes {
			return nil, guildhall.Errorf(guildhall.ETOOLARGE, "The parameters are larger than %d bytes.", MaxBodyBytes)
		}
		return decodeObject([]byte(params[0]), "?parameters=")
	case len(body) > 0:
		return decodeObject(body, "The request body")
	}
	return map[string]json.RawMessage{}, nil
}

// decodeObject splits a JSON object into its members, keeping keys exactly
// as sent (encoding/json would match struct fields case-insensitively) and
// refusing invalid UTF-8, duplicates, trailing data and anything that is
// not an object.
func decodeObject(data []byte, where string) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		// encoding/json would quietly turn the bad bytes into U+FFFD, and
		// the service would store a text the caller never sent.
		return nil, guildhall.Errorf(guildhall.EINVALID, "%s is not valid UTF-8, as JSON must be.", where)
	}
	if json.Valid(data) {
		if out, ok := splitObject(data); ok {
			return out, nil
		}
	}
	return decodeObjectTokens(data, where)
}

// splitObject splits well-formed JSON (json.Valid) into the members of
// the object it is, in one pass without decoding the values: every API
// call's arguments go through it, and encoding/json's token reader cost
// several times as much. It reports false when data is not an object or
// names a key twice; decodeObjectTokens then says what is wrong in words.
func splitObject(data []byte) (map[string]json.RawMessage, bool) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return nil, false
	}
	out := make(map[string]json.RawMessage, 8)
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return out, true
	}
	for {
		end := endOfValue(data, i) // the key, a string
		key, ok := unquote(data[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // past the colon
		end = endOfValue(data, i)
		if _, dup := out[key]; dup {
			return nil, false
		}
		out[key] = json.RawMessage(data[i:end])
		i = skipSpace(data, end)
		if data[i] == '}' {
			return out, true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// endOfValue returns the index just after the well-formed JSON value that
// starts at i.
func endOfValue(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case c == '{' || c == '[':
			depth++
		case depth == 0 && (c == ',' || c == '}' || c == ']' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return i // the end of a number, true, false or null
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

// unquote decodes a JSON string: directly when it holds no escape, as
// names and values almost always do.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// decodeObjectTokens is decodeObject by encoding/json's token reader, which
// tells what is wrong with data that is not a well-formed object.
func decodeObjectTokens(data []byte, where string) (map[string]json.RawMessage, error) {
	notObject := guildhall.Errorf(guildhall.EINVALID, "%s must be a JSON object, like {\"auth\": {\"api_key\": \"sk-...\"}}.", where)
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, guildhall.Errorf(guildhall.EINVALID, "%s is not valid JSON.", where)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, notObject
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, guildhall.Errorf(guildhall.EINVALID, "%s is not valid JSON.", where)
		}
		key := tok.(string) // inside an object, a token before a value is always its key
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, guildhall.Errorf(guildhall.EINVALID, "%s is not valid JSON (at %q).", where, key)
		}
		if _, dup := out[key]; dup {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q is given twice.", key)
		}
		out[key] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, guildhall.Errorf(guildhall.EINVALID, "%s is not valid JSON.", where)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, guildhall.Errorf(guildhall.EINVALID, "%s has data after the JSON object.", where)
	}
	return out, nil
}

// jsonType names the JSON type of a raw value, for error messages.
func jsonType(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// decimalInt matches the decimal strings an integer parameter accepts.
var decimalInt = regexp.MustCompile(`^-?[0-9]+$`)

// decodeValue checks raw against p and returns it as a Go value.
func decodeValue(name string, p param, raw json.RawMessage, function string) (any, error) {
	wrongType := func() error {
		return guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be %s, not %s.", name, p.Kind, jsonType(raw))
	}
	switch p.Kind {
	case kindString:
		v, ok := unquote(raw)
		if !ok {
			return nil, wrongType()
		}
		if p.Enum != nil && !slices.Contains(p.Enum, v) {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be one of %s, not %q.", name, oneOf(p.Enum), v)
		}
		return v, nil
	case kindInt:
		digits := string(raw)
		if jsonType(raw) == "a string" {
			// QueryLake's ids are strings: "12" is 12; anything else is not.
			if json.Unmarshal(raw, &digits) != nil || !decimalInt.MatchString(digits) {
				return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be an integer (or its decimal digits in a string), not %s.", name, raw)
			}
		} else if jsonType(raw) != "a number" {
			return nil, wrongType()
		}
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be a whole number between %d and %d.", name, int64(-1<<63), int64(1<<63-1))
		}
		if p.Min != nil && v < *p.Min || p.Max != nil && v > *p.Max {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be %s, not %d.", name, rangeText(p), v)
		}
		return v, nil
	case kindBool:
		if jsonType(raw) != "a boolean" {
			return nil, wrongType()
		}
		return string(raw) == "true", nil
	case kindList:
		var elements []json.RawMessage
		if jsonType(raw) != "an array" || json.Unmarshal(raw, &elements) != nil {
			return nil, wrongType()
		}
		if n := int64(len(elements)); p.Min != nil && n < *p.Min || p.Max != nil && n > *p.Max {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must hold %s objects, not %d.", name, rangeText(p), n)
		}
		out := make([]map[string]any, len(elements))
		for i, element := range elements {
			where := fmt.Sprintf("%s[%d]", name, i)
			if jsonType(element) != "an object" {
				return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be an object, not %s.", where, jsonType(element))
			}
			fields, err := decodeObject(element, where)
			if err != nil {
				return nil, err
			}
			unknown := func(field string) error {
				return guildhall.Errorf(guildhall.EINVALID, "Unknown field %q; GET /api/help/%s lists the fields of %s.", field, function, name)
			}
			if out[i], err = decodeFields(p.Fields, fields, unknown, where+".", function); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, wrongType()
}

// oneOf lists values for a message: "a", "b" or "c".
func oneOf(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// rangeText says an integer parameter's bounds: "at least 1", "0 to 500".
func rangeText(p param) string {
	switch {
	case p.Min != nil && p.Max != nil:
		return fmt.Sprintf("%d to %d", *p.Min, *p.Max)
	case p.Min != nil:
		return fmt.Sprintf("at least %d", *p.Min)
	}
	return fmt.Sprintf("at most %d", *p.Max)
}

// decodeAuth reads QueryLake's auth: {"api_key"}, {"username", "password"},
// a sign-in token as {"oauth2"}, or a bare string (a token, or an API key
// by its shape), as QueryLake's web app sends it.
func decodeAuth(raw json.RawMessage) (*guildhall.Credentials, error) {
	if jsonType(raw) == "a string" {
		var secret string
		if json.Unmarshal(raw, &secret) != nil || secret == "" {
			return nil, guildhall.Errorf(guildhall.EINVALID, "auth is empty: give an api_key, a sign-in token, or a username and password.")
		}
		creds := guildhall.CredentialsFromSecret(secret)
		return &creds, nil
	}
	if jsonType(raw) != "an object" {
		return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter \"auth\" must be a sign-in token or an object, {\"api_key\": ...}, {\"oauth2\": ...} or {\"username\": ..., \"password\": ...}, not %s.", jsonType(raw))
	}
	fields, err := decodeObject(raw, "auth")
	if err != nil {
		return nil, err
	}
	var c guildhall.Credentials
	for key, value := range fields {
		var dst *string
		switch key {
		case "api_key":
			dst = &c.APIKey
		case "oauth2":
			dst = &c.Token
		case "username":
			dst = &c.Username
		case "password":
			dst = &c.Password
		default:
			return nil, guildhall.Errorf(guildhall.EINVALID, "Unknown field %q in auth: use api_key, oauth2, or username and password.", key)
		}
		v, ok := unquote(value)
		if !ok {
			return nil, guildhall.Errorf(guildhall.EINVALID, "auth.%s must be a string, not %s.", key, jsonType(value))
		}
		*dst = v
	}
	if c == (guildhall.Credentials{}) {
		return nil, guildhall.Errorf(guildhall.EINVALID, "auth is empty: give an api_key, a sign-in token, or a username and password.")
	}
	return &c, nil
}
