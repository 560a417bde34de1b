package guildhall

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// TextField is free text a person types and the service stores: an
// organization's name or description, an API key's title. Every such text
// passes the one check, Normalize, so no field is the one that lets a
// control character or a direction override into a page, a log line or
// another user's screen.
type TextField struct {
	// Label names the field at the start of a refusal: "Organization name".
	Label string
	// MaxLen is the most characters (Unicode code points, not bytes) it holds.
	MaxLen int
	// Required refuses a text that is empty once trimmed.
	Required bool
	// Multiline allows line breaks and tabs (a description typed in a
	// textarea); CRLF and CR are stored as LF, as browsers send LF as CRLF.
	Multiline bool
}

// Normalize trims s and checks it: valid UTF-8, at most MaxLen characters,
// and only characters that show as text (AllowedTextRune). A refusal is an
// EINVALID error whose message starts with the field's label.
func (f TextField) Normalize(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EINVALID, "%s must be valid UTF-8 text.", f.Label)
	}
	if f.Multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = strings.TrimSpace(s)
	if s == "" && f.Required {
		return "", Errorf(EINVALID, "%s must not be empty.", f.Label)
	}
	if n := utf8.RuneCountInString(s); n > f.MaxLen {
		return "", Errorf(EINVALID, "%s must be at most %d characters (this one has %d).", f.Label, f.MaxLen, n)
	}
	for _, r := range s {
		if f.Multiline && (r == '\n' || r == '\t') {
			continue
		}
		if !AllowedTextRune(r) {
			return "", Errorf(EINVALID, "%s must not contain control characters, direction overrides or other invisible formatting (found %U).", f.Label, r)
		}
	}
	return s, nil
}

// AllowedTextRune reports whether r may appear in stored text: letters,
// marks, digits, punctuation, symbols and spaces (Unicode's graphic
// characters), plus the zero-width non-joiner and joiner that Persian and
// Indic writing and emoji sequences need. Everything else is refused:
// control characters (C0, DEL, C1), the bidirectional embeddings,
// overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the other
// format characters (zero-width space, direction marks, BOM), line and
// paragraph separators, private-use and unassigned code points.
func AllowedTextRune(r rune) bool {
	return r == '\u200c' || r == '\u200d' || unicode.IsGraphic(r)
}
