package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// MaxBodyBytes is the largest request body the API reads: 1 MiB.
const MaxBodyBytes = 1 << 20

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
	ctx := c.Request().Context()
	var actor guildhall.Actor
	if fn.auth() != authNone {
		creds := args.auth
		if creds == nil {
			creds = bearer(c.Request())
		}
		if creds == nil {
			return guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication required: send auth with an api_key, or a username and password.")
		}
		creds.ClientAddr = c.RealIP()
		if actor, err = s.svc.Authenticate(ctx, *creds); err != nil {
			return err
		}
		setActor(c, actor)
		if fn.password != "" {
			if err := guildhall.RequirePassword(actor, fn.password); err != nil {
				return err
			}
		}
	}
	result, err := fn.call(c, actor, args)
	if err != nil {
		return err
	}
	switch r := result.(type) {
	case nil:
		return c.JSONBlob(http.StatusOK, successAlone)
	case jsonAppender:
		b := append(make([]byte, 0, 4096), `{"success":true,"result":`...)
		return c.JSONBlob(http.StatusOK, append(r.appendJSON(b), "}\n"...))
	}
	return c.JSON(http.StatusOK, success{Success: true, Result: result})
}

// successAlone is the answer of a call that returns nothing, as c.JSON
// writes it, made once: most writes answer with it.
var successAlone = []byte("{\"success\":true}\n")

// success is the envelope of every answer that worked; failure (in
// server.go) of every one that did not.
type success struct {
	Success bool   `json:"success"`
	Result  any    `json:"result,omitempty"`
	Note    string `json:"note,omitempty"`
}

// bearer reads "Authorization: Bearer sk-..." as API-key credentials.
func bearer(r *http.Request) *guildhall.Credentials {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil
	}
	return &guildhall.Credentials{APIKey: strings.TrimSpace(h[len(prefix):])}
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

// decodeValue checks raw against kind and returns it as a Go value.
func decodeValue(name string, kind paramKind, raw json.RawMessage) (any, error) {
	wrongType := func() error {
		return guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be %s, not %s.", name, kind, jsonType(raw))
	}
	switch kind {
	case kindString:
		v, ok := unquote(raw)
		if !ok {
			return nil, wrongType()
		}
		return v, nil
	case kindInt:
		if jsonType(raw) != "a number" {
			return nil, wrongType()
		}
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter %q must be a whole number between %d and %d.", name, int64(-1<<63), int64(1<<63-1))
		}
		return v, nil
	case kindBool:
		if jsonType(raw) != "a boolean" {
			return nil, wrongType()
		}
		return string(raw) == "true", nil
	case kindAuth:
		return decodeAuth(raw)
	}
	return nil, wrongType()
}

// decodeAuth reads QueryLake's auth object: {"api_key"} or {"username", "password"}.
func decodeAuth(raw json.RawMessage) (*guildhall.Credentials, error) {
	if jsonType(raw) != "an object" {
		return nil, guildhall.Errorf(guildhall.EINVALID, "Parameter \"auth\" must be an object, {\"api_key\": ...} or {\"username\": ..., \"password\": ...}, not %s.", jsonType(raw))
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
		case "username":
			dst = &c.Username
		case "password":
			dst = &c.Password
		default:
			return nil, guildhall.Errorf(guildhall.EINVALID, "Unknown field %q in auth: use api_key, or username and password.", key)
		}
		v, ok := unquote(value)
		if !ok {
			return nil, guildhall.Errorf(guildhall.EINVALID, "auth.%s must be a string, not %s.", key, jsonType(value))
		}
		*dst = v
	}
	if c.APIKey == "" && c.Username == "" && c.Password == "" {
		return nil, guildhall.Errorf(guildhall.EINVALID, "auth is empty: give an api_key, or a username and password.")
	}
	return &c, nil
}
