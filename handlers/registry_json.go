package handlers

import (
	"strconv"
	"unicode/utf8"
)

// membershipList is a list of memberships as the API answers it. Lists are
// the API's largest answers, a page of up to a thousand rows: they are
// written by MarshalJSON directly, the bytes encoding/json would write for
// the same []membershipResult (FuzzMembershipListJSON holds them to it),
// at a fraction of reflection's cost.
type membershipList []membershipResult

// MarshalJSON writes the list as encoding/json writes []membershipResult.
func (l membershipList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 160*len(l)+2)
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
	return append(b, ']'), nil
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
