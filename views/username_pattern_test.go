package views

import (
	"regexp"
	"strings"
	"testing"

	"guildhall"
)

// TestUsernameInputPattern: the sign-up form's pattern, read as a browser
// reads it (anchored), accepts exactly the usernames the service accepts,
// among names of an allowed length (the input's maxlength bounds them).
func TestUsernameInputPattern(t *testing.T) {
	if strings.Contains(strings.ReplaceAll(usernameInputPattern, `\-`, ""), "-]") {
		t.Errorf("pattern %q has a hyphen a v-mode class refuses", usernameInputPattern)
	}
	browser := regexp.MustCompile("^(?:" + usernameInputPattern + ")$")
	names := []string{"a", "alice", "bob_smith", "b.o-b", "0", "9lives", "_a", "a_", ".a.", "-a-",
		"_", ".", "-", "...", "_-.", "Alice", "ALICE", "a b", " a", "a\n", "é", "a/b", "a+b", "",
		strings.Repeat("a", 32), strings.Repeat("_", 31) + "x"}
	for _, name := range names {
		if len(name) > guildhall.UsernameMaxLen {
			continue
		}
		if got, want := browser.MatchString(name), guildhall.ValidateUsername(name) == nil; got != want {
			t.Errorf("%q: the form's pattern says %v, the service %v", name, got, want)
		}
	}
}
