package handlers

import (
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"
)

// FuzzSplitObject holds the fast reader of an API call's arguments to
// encoding/json's: whatever the bytes, splitObject either declines or
// gives exactly the members decodeObjectTokens reads, keys unescaped and
// values byte for byte; and decodeObject answers as the token reader does
// (refusing, besides, what is not UTF-8).
func FuzzSplitObject(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a": 1, "b": "x"}`,
		`{"auth": {"api_key": "sk-1"}, "organization_id": 12}`,
		`{"a":"}{][,:\"\\"}`, `{"k\u0065y": [1, {"x": [true, null]}], "n": -1.5e3}`,
		`{"a":1,"a":2}`, `[1,2]`, `"s"`, `{"a":{"b":{"c":{}}}}`, "{\n\t\"a\" :\r\n false }",
		`{"a":1} {}`, `{"a":`, `{"\ud83d\ude00":"😀"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, err := decodeObject(data, "body")
		if !utf8.Valid(data) {
			if err == nil {
				t.Fatalf("%q: not UTF-8, yet read as %v", data, fast)
			}
			return
		}
		slow, slowErr := decodeObjectTokens(data, "body")
		if (err == nil) != (slowErr == nil) || err == nil && !maps.EqualFunc(fast, slow, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("%q: decodeObject %v %v, the token reader %v %v", data, fast, err, slow, slowErr)
		}
		if !json.Valid(data) {
			return
		}
		if split, ok := splitObject(data); ok && !maps.EqualFunc(split, slow, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("%q: split %v, the token reader %v", data, split, slow)
		}
	})
}
