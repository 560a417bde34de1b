package handlers

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
)

// The OpenAPI 3.1 document, served at /api/openapi.json. It is made from
// the registry when the server is built, like /api/help: each function's
// parameters, result type, credentials and error codes come from its
// entry, so the document describes what the dispatcher does.

// openAPIVersion is the version of the OpenAPI specification the document follows.
const openAPIVersion = "3.1.0"

// object is a JSON object of the document.
type object = map[string]any

// handleOpenAPI serves the document.
func (s *Server) handleOpenAPI(c echo.Context) error {
	return c.JSON(http.StatusOK, s.openAPI)
}

// openAPIDocument builds the document from the registry.
func (s *Server) openAPIDocument() object {
	paths, schemas := object{}, object{}
	for _, fn := range s.functionOrder {
		// Each function's arguments and result are named schemas, which
		// both its operations refer to (and client generators name types by).
		schemas[fn.schemaName("Arguments")] = fn.argumentsSchema()
		if fn.result != nil {
			schemas[fn.schemaName("Result")] = schemaOf(fn.result)
		}
		paths["/api/"+fn.Name] = object{
			"post": fn.operation(fn.Name, "POST"),
			"get":  fn.operation(fn.Name+"_get", "GET"),
		}
	}
	// The API's own pages answer GET, POST and HEAD (the head without a body).
	service := func(id, summary string, result object, pathParams []object, refusals ...int) object {
		item := object{}
		for _, method := range []string{"get", "post", "head"} {
			responses := object{"200": object{"description": "OK", "headers": requestIDHeader(), "content": jsonContent(result)}}
			for _, status := range refusals {
				responses[fmt.Sprint(status)] = failureResponse(status, []string{codeOf(status)}, false)
			}
			if method == "head" {
				for _, r := range responses {
					delete(r.(object), "content")
				}
			}
			op := object{"operationId": id + map[string]string{"get": "", "post": "_post", "head": "_head"}[method],
				"summary": summary, "tags": []string{"service"}, "responses": responses}
			if pathParams != nil {
				op["parameters"] = pathParams
			}
			item[method] = op
		}
		return item
	}
	helpEntrySchema := schemaOf(reflect.TypeFor[helpEntry]())
	functionParam := []object{{"name": "function", "in": "path", "required": true, "schema": object{"type": "string"}}}
	paths["/api/ping"] = service("ping", "QueryLake's liveness check.", successSchema(nil, object{"note": object{"const": "Pong"}}), nil)
	paths["/api/help"] = service("help", "List the functions.", successSchema(object{"type": "object", "additionalProperties": false, "required": []string{"functions"},
		"properties": object{"functions": object{"type": "array", "items": helpEntrySchema}}}, nil), nil)
	paths["/api/help/{function}"] = service("help_function", "Describe one function.", successSchema(helpEntrySchema, nil), functionParam, http.StatusNotFound)
	paths["/api/openapi.json"] = service("openapi", "This document.", object{"type": "object", "required": []string{"openapi", "paths"}}, nil)

	schemas["Failure"] = object{
		"type": "object", "additionalProperties": false, "required": []string{"success", "error", "code"},
		"properties": object{
			"success": object{"const": false},
			"error":   object{"type": "string", "description": "What went wrong, in words for people."},
			"code":    object{"type": "string", "enum": allCodes()},
		},
	}
	return object{
		"openapi": openAPIVersion,
		"info": object{
			"title":   "Guildhall API",
			"version": "1",
			"description": "Guildhall's JSON API, call-compatible with QueryLake's: POST (or GET) /api/<function> with the arguments " +
				"as a JSON object in the body, or URL-encoded in ?parameters=. The body is read as JSON whatever its Content-Type says. " +
				"Credentials go in the arguments as auth, or in an Authorization: Bearer header (an API key or a sign-in token). " +
				"Every answer is an envelope: {\"success\": true, \"result\": ...} or {\"success\": false, \"error\": ..., \"code\": ...}. " +
				"Writes take an Idempotency-Key header, except those that answer with a new secret or set a password. docs/API.md has the rules.",
		},
		"tags": []object{
			{"name": "functions", "description": "The API functions, one path each, as /api/help lists them."},
			{"name": "service", "description": "The API's own description and liveness check."},
		},
		"paths": paths,
		"components": object{
			"schemas":   schemas,
			"responses": failureResponses(),
			"securitySchemes": object{"bearer": object{
				"type": "http", "scheme": "bearer",
				"description": "An API key (sk-...) or a sign-in token from login (tk-...), told apart by shape. Used when the arguments carry no auth.",
			}},
		},
	}
}

// operation describes calling fn with method: its arguments, its result
// and every failure it can meet.
func (fn *function) operation(id, method string) object {
	args := schemaRef(fn.schemaName("Arguments"))
	op := object{
		"operationId": id,
		"summary":     fn.Description,
		"description": fn.Description + " Credentials: " + fn.auth().String() + ".",
		"tags":        []string{"functions"},
		"requestBody": object{
			"required":    false,
			"description": map[string]string{"GET": "The arguments: a GET carries them in its body too, as QueryLake's clients send them.", "POST": "The arguments."}[method],
			"content":     jsonContent(args),
		},
	}
	params := []object{{
		"name": "parameters", "in": "query", "required": false,
		"description": "The arguments as URL-encoded JSON, instead of a body.",
		"content":     jsonContent(args),
	}}
	if fn.effect == writes {
		params = append(params, object{
			"name": HeaderIdempotencyKey, "in": "header", "required": false,
			"description": "Runs this write once for you and this key: a retry with the same key and arguments gets the first answer again " +
				"(with Idempotent-Replayed: true), other arguments get 422, a retry while the first runs gets 409. Answers are kept 24 hours.",
			"schema": object{"type": "string", "minLength": 1, "maxLength": guildhall.IdempotencyKeyMaxLen, "pattern": "^[\\x20-\\x7e]+$"},
		})
	}
	op["parameters"] = params
	switch fn.auth() {
	case authAny, authPasswordOrToken, authToken:
		op["security"] = []object{{}, {"bearer": []string{}}}
	}
	var result object
	if fn.result != nil {
		result = schemaRef(fn.schemaName("Result"))
	}
	ok := object{"description": "OK", "headers": fn.responseHeaders(), "content": jsonContent(successSchema(result, nil))}
	responses := object{"200": ok}
	for _, code := range fn.errorCodes() {
		responses[fmt.Sprint(errorClasses[code].status)] = object{"$ref": "#/components/responses/" + failureName(code, fn.effect == writes)}
	}
	op["responses"] = responses
	return op
}

// schemaName names one of fn's schemas in the document's components:
// InviteUserToOrganizationArguments, LoginResult.
func (fn *function) schemaName(suffix string) string {
	var b strings.Builder
	for word := range strings.SplitSeq(fn.Name, "_") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String() + suffix
}

// schemaRef refers to a schema of the document's components.
func schemaRef(name string) object { return object{"$ref": "#/components/schemas/" + name} }

// argumentsSchema is the JSON Schema of fn's arguments object.
func (fn *function) argumentsSchema() object {
	props := object{}
	required := []string{}
	if k := fn.auth(); k != authNone {
		props["auth"] = authSchema(k)
		if k == authPassword {
			required = append(required, "auth") // a password cannot come in a header
		}
	}
	for _, p := range fn.Params {
		props[p.Name] = p.schema()
		if p.Required {
			required = append(required, p.Name)
		}
	}
	return object{"type": "object", "additionalProperties": false, "properties": props, "required": required}
}

// schema is the JSON Schema of one parameter.
func (p param) schema() object {
	var s object
	switch p.Kind {
	case kindString:
		s = object{"type": "string"}
		if p.Enum != nil {
			s["enum"] = p.Enum
		}
		if p.MinLength > 0 {
			s["minLength"] = p.MinLength
		}
		if p.MaxLength > 0 {
			s["maxLength"] = p.MaxLength
		}
		if p.Pattern != "" {
			s["pattern"] = p.Pattern
		}
	case kindInt:
		// QueryLake's ids are strings: the decimal digits are accepted too.
		n := object{"type": "integer"}
		if p.Min != nil {
			n["minimum"] = *p.Min
		}
		if p.Max != nil {
			n["maximum"] = *p.Max
		}
		s = object{"anyOf": []object{n, {"type": "string", "pattern": decimalInt.String(), "description": "The integer's decimal digits."}}}
	case kindBool:
		s = object{"type": "boolean"}
	case kindList:
		fields := object{}
		required := []string{}
		for _, f := range p.Fields {
			fields[f.Name] = f.schema()
			if f.Required {
				required = append(required, f.Name)
			}
		}
		s = object{"type": "array", "items": object{"type": "object", "additionalProperties": false, "properties": fields, "required": required}}
		if p.Min != nil {
			s["minItems"] = *p.Min
		}
		if p.Max != nil {
			s["maxItems"] = *p.Max
		}
	}
	s["description"] = p.Description
	if p.Default != nil {
		s["default"] = p.Default
	}
	return s
}

// authSchema is the JSON Schema of the auth argument of a function that
// takes credentials of kind k.
func authSchema(k authKind) object {
	str := object{"type": "string", "minLength": 1}
	credential := func(field, description string) object {
		return object{"type": "object", "additionalProperties": false, "required": []string{field},
			"properties": object{field: str}, "description": description}
	}
	token := object{"type": "string", "minLength": 1, "description": "A sign-in token from login or add_user (an API key, by its sk- shape, also reads as one)."}
	apiKey := credential("api_key", "An API key from create_api_key.")
	oauth2 := credential("oauth2", "A sign-in token from login or add_user, as QueryLake's Python SDK sends it.")
	password := object{"type": "object", "additionalProperties": false, "required": []string{"username", "password"},
		"properties": object{"username": str, "password": str}, "description": "A username and password."}
	forms := map[authKind][]object{
		authAny:             {apiKey, password, oauth2, token},
		authPassword:        {password},
		authPasswordOrToken: {password, oauth2, token},
		authToken:           {oauth2, token},
	}[k]
	return object{"oneOf": forms, "description": authDescription(k)}
}

// successSchema is the envelope of a success: result (if any) and extra properties.
func successSchema(result object, extra object) object {
	props := object{"success": object{"const": true}}
	required := []string{"success"}
	if result != nil {
		props["result"] = result
		required = append(required, "result")
	}
	for k, v := range extra {
		props[k] = v
		required = append(required, k)
	}
	return object{"type": "object", "additionalProperties": false, "required": required, "properties": props}
}

// failureResponse describes the answer with status, whose code is one of codes.
func failureResponse(status int, codes []string, replayable bool) object {
	headers := requestIDHeader()
	if status == http.StatusTooManyRequests || status == http.StatusConflict {
		headers["Retry-After"] = object{"description": "Seconds to wait before trying again.", "schema": object{"type": "string", "pattern": "^[0-9]+$"}}
	}
	if replayable {
		headers[HeaderIdempotentReplayed] = replayedHeader()
	}
	return object{
		"description": http.StatusText(status) + ": " + strings.Join(codes, ", "),
		"headers":     headers,
		"content": jsonContent(object{
			"type": "object", "additionalProperties": false, "required": []string{"success", "error", "code"},
			"properties": object{
				"success": object{"const": false},
				"error":   object{"type": "string"},
				"code":    object{"type": "string", "enum": codes},
			},
		}),
	}
}

// failureName names the document's response for a refusal with code, of a
// write (whose refusals may be replayed) or not: Conflict, ConflictOfWrite.
func failureName(code string, write bool) string {
	name := (&function{Name: code}).schemaName("")
	if write {
		name += "OfWrite"
	}
	return name
}

// failureResponses are the document's responses for every error code,
// each with its status and code, which the operations refer to.
func failureResponses() object {
	out := object{}
	for code, class := range errorClasses {
		for _, write := range []bool{false, true} {
			out[failureName(code, write)] = failureResponse(class.status, []string{code}, write)
		}
	}
	return out
}

// responseHeaders are the headers of fn's successful answers.
func (fn *function) responseHeaders() object {
	h := requestIDHeader()
	if fn.effect == writes {
		h[HeaderIdempotentReplayed] = replayedHeader()
	}
	return h
}

func replayedHeader() object {
	return object{"description": "true when this is the stored answer of an earlier request with the same Idempotency-Key.", "schema": object{"type": "string", "const": "true"}}
}

func requestIDHeader() object {
	return object{"X-Request-Id": object{"description": "Names the request in the server's log.", "schema": object{"type": "string"}}}
}

func jsonContent(schema object) object {
	return object{"application/json": object{"schema": schema}}
}

// codeOf is the one code answered with status.
func codeOf(status int) string {
	for code, class := range errorClasses {
		if class.status == status {
			return code
		}
	}
	return guildhall.EINTERNAL
}

// allCodes lists every error code, in the order of their statuses.
func allCodes() []string {
	var out []string
	for code := range errorClasses {
		out = append(out, code)
	}
	slices.SortFunc(out, func(a, b string) int { return errorClasses[a].status - errorClasses[b].status })
	return out
}

// schemaOf is the JSON Schema of the JSON encoding of values of type t, as
// encoding/json writes them: a struct field tagged omitempty is optional,
// a pointer without it may be null, the doc tag is the description, and a
// guildhall.Role is one of the roles. Results are described from their
// Go types this way, so the document cannot describe another shape.
func schemaOf(t reflect.Type) object {
	if t == reflect.TypeFor[guildhall.Role]() {
		return object{"type": "string", "enum": names(guildhall.Roles)}
	}
	switch t.Kind() {
	case reflect.String:
		return object{"type": "string"}
	case reflect.Bool:
		return object{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return object{"type": "integer"}
	case reflect.Slice:
		return object{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Pointer:
		s := schemaOf(t.Elem())
		s["type"] = []any{s["type"], "null"}
		return s
	case reflect.Interface:
		return object{} // any JSON value (help's parameter defaults)
	case reflect.Struct:
		props, required := object{}, []string{}
		addFields(t, props, &required)
		return object{"type": "object", "additionalProperties": false, "properties": props, "required": required}
	}
	panic("handlers: no JSON Schema for results of type " + t.String())
}

// addFields adds the JSON fields of struct type t (its embedded structs'
// included, as encoding/json flattens them) to props and required.
func addFields(t reflect.Type, props object, required *[]string) {
	for f := range t.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, props, required)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		typ := f.Type
		omitempty := slices.Contains(strings.Split(opts, ","), "omitempty")
		if omitempty && typ.Kind() == reflect.Pointer && f.Tag.Get("nullable") != "true" {
			typ = typ.Elem() // omitted when nil, never null (unless tagged nullable: a type writing its own JSON may give null)
		}
		s := schemaOf(typ)
		if doc := f.Tag.Get("doc"); doc != "" {
			s["description"] = doc
		}
		props[name] = s
		if !omitempty {
			*required = append(*required, name)
		}
	}
}
