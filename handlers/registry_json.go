package handlers

import (
	"strconv"
	"unicode/utf8"
)

// jsonAppender is a result that writes its own JSON, the bytes
// encoding/json would write for it: handleAPI writes the envelope around
// it without encoding/json, which re-reads every byte a Marshaler gives
// it (a tenth of a page's CPU).
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// membersPageResult is a page of fetch_memberships_of_organization. Limit,
// Offset and Total are given when the call asked for more than the
// organization (paged; Total null when not counted); the fields are
// written in the order encoding/json gives a map's keys, as they were. The
// tags describe the answer to the OpenAPI document.
type membersPageResult struct {
	Memberships membershipList `json:"memberships"`
	NextCursor  *string        `json:"next_cursor" doc:"The cursor of the next page; null on the last."`
	Limit       *int           `json:"limit,omitempty" doc:"The page's size (when more than the organization was given)."`
	Offset      *int           `json:"offset,omitempty" doc:"The page's first row, when it was not read by cursor (when more than the organization was given)."`
	Total       *int           `json:"total,omitempty" nullable:"true" doc:"Rows matching over all pages (when more than the organization was given); null when a search matched too many usernames to count."`
}

// paged reports whether the call asked for more than the organization:
// the page then says where it is.
func (r membersPageResult) paged() bool { return r.Limit != nil }

func (r membersPageResult) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.paged() {
		b = append(b, `"limit":`...)
		b = strconv.AppendInt(b, int64(*r.Limit), 10)
		b = append(b, ',')
	}
	b = append(b, `"memberships":`...)
	b = r.Memberships.appendJSON(b)
	b = append(b, `,"next_cursor":`...)
	b = appendJSONStringOrNull(b, r.NextCursor)
	if r.paged() {
		if r.Offset != nil {
			b = append(b, `,"offset":`...)
			b = strconv.AppendInt(b, int64(*r.Offset), 10)
		}
		b = append(b, `,"total":`...)
		if r.Total == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, int64(*r.Total), 10)
		}
	}
	return append(b, '}')
}

// MarshalJSON writes the page as appendJSON does, for encoding/json.
func (r membersPageResult) MarshalJSON() ([]byte, error) { return r.appendJSON(nil), nil }

// appendJSONStringOrNull writes a string, or null for nil.
func appendJSONStringOrNull(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// membershipList is a list of memberships as the API answers it. Lists are
// the API's largest answers, a page of up to a thousand rows: they are
// written by MarshalJSON directly, the bytes encoding/json would write for
// the same []membershipResult (FuzzMembershipListJSON holds them to it),
// at a fraction of reflection's cost.
type membershipList []membershipResult

// MarshalJSON writes the list as encoding/json writes []membershipResult.
func (l membershipList) MarshalJSON() ([]byte, error) {
	return l.appendJSON(make([]byte, 0, 160*len(l)+2)), nil
}

func (l membershipList) appendJSON(b []byte) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, r := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"organization_id":`...)
		b = strconv.AppendInt(b, r.OrganizationID, 10)
		b = append(b, `,"organization_name":`...)
		b = appendJSONString(b, r.OrganizationName)
		b = append(b, `,"role":`...)
		b = appendJSONString(b, string(r.Role))
		if r.Username != "" {
			b = append(b, `,"username":`...)
			b = appendJSONString(b, r.Username)
		}
		b = append(b, `,"invite_still_open":`...)
		b = strconv.AppendBool(b, r.InviteStillOpen)
		if r.Sender != "" {
			b = append(b, `,"sender":`...)
			b = appendJSONString(b, r.Sender)
		}
		if r.Expires != nil {
			b = append(b, `,"expires":`...)
			b = strconv.AppendInt(b, *r.Expires, 10)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s as encoding/json writes a string: quoted,
// with control characters, quotes, backslashes, <, > and & escaped (the
// answers are HTML-safe, as Echo's encoder makes them), U+2028 and U+2029
// escaped, and invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
