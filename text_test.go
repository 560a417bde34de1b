package guildhall_test

import (
	"strings"
	"testing"

	"guildhall"
)

// TestTextFieldsCountCharactersAndRefuseInvisibles: every stored text
// (organization name and description, API key title) counts characters,
// not bytes, and refuses invalid UTF-8, control characters and direction
// overrides, by the one rule.
func TestTextFieldsCountCharactersAndRefuseInvisibles(t *testing.T) {
	fields := map[string]func(string) (string, error){
		"organization name":        guildhall.NormalizeOrganizationName,
		"organization description": guildhall.NormalizeOrganizationDescription,
		"API key title":            guildhall.NormalizeAPIKeyTitle,
	}
	refused := map[string]string{
		"invalid UTF-8":       "Acme\xff",
		"a lone continuation": "Ac\x80me",
		"NUL":                 "Ac\x00me",
		"escape":              "Acme\x1b[31m",
		"DEL":                 "Acme\x7f",
		"C1 control":          "Ac\u0085me",
		"zero-width space":    "Ac\u200bme",
		"right-to-left mark":  "Acme\u200f",
		"BOM":                 "\ufeffAcme",
		"line separator":      "Ac\u2028me",
		"private use":         "Acme\ue000",
	}
	for r := '\u202a'; r <= '\u202e'; r++ {
		refused["bidi "+string(r)] = "Acme" + string(r) + "gnp.exe"
	}
	for r := '\u2066'; r <= '\u2069'; r++ {
		refused["bidi "+string(r)] = "Acme" + string(r) + "x"
	}
	for field, normalize := range fields {
		for name, s := range refused {
			if got, err := normalize(s); guildhall.ErrorCode(err) != guildhall.EINVALID {
				t.Errorf("%s: %s %q accepted as %q", field, name, s, got)
			}
		}
		// Limits count characters: 34 CJK characters are 102 bytes, far
		// under every limit of 100 characters or more.
		cjk := strings.Repeat("組", 34)
		if got, err := normalize(cjk); err != nil || got != cjk {
			t.Errorf("%s: 34 CJK characters refused: %v", field, err)
		}
		for _, ok := range []string{"Ünïcødé 組織", "Café\u0301", "خانه\u200cها", "👨\u200d👩\u200d👧", "北京\u3000支社"} {
			if _, err := normalize(ok); err != nil {
				t.Errorf("%s: %q refused: %v", field, ok, err)
			}
		}
	}
	for _, tt := range []struct {
		name  string
		field guildhall.TextField
	}{{"name", guildhall.OrganizationNameText}, {"description", guildhall.OrganizationDescriptionText}, {"title", guildhall.APIKeyTitleText}} {
		atLimit := strings.Repeat("é", tt.field.MaxLen)
		if _, err := tt.field.Normalize(atLimit); err != nil {
			t.Errorf("%s: %d characters (the limit) refused: %v", tt.name, tt.field.MaxLen, err)
		}
		_, err := tt.field.Normalize(atLimit + "é")
		if guildhall.ErrorCode(err) != guildhall.EINVALID || !strings.Contains(guildhall.ErrorMessage(err), "characters") {
			t.Errorf("%s: one character over the limit: %v", tt.name, err)
		}
	}
}

// TestMultilineText: a description keeps its line breaks (CRLF stored as
// LF); a name, a single line, refuses them.
func TestMultilineText(t *testing.T) {
	got, err := guildhall.NormalizeOrganizationDescription("  We make\r\nanvils.\rAnd\tsprings.\n ")
	if err != nil || got != "We make\nanvils.\nAnd\tsprings." {
		t.Errorf("description = %q, %v", got, err)
	}
	for _, s := range []string{"Ac\nme", "Ac\tme", "Ac\rme"} {
		if _, err := guildhall.NormalizeOrganizationName(s); guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("name %q accepted", s)
		}
	}
	if _, err := guildhall.NormalizeOrganizationName("   "); guildhall.ErrorCode(err) != guildhall.EINVALID {
		t.Error("a blank name was accepted")
	}
	if got, err := guildhall.NormalizeAPIKeyTitle("  "); err != nil || got != "" {
		t.Errorf("a blank title (optional) = %q, %v", got, err)
	}
}
