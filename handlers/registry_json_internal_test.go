package handlers

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"guildhall"
)

// FuzzMembershipListJSON: a membershipList encodes as encoding/json
// encodes the same []membershipResult, byte for byte, whatever the texts.
func FuzzMembershipListJSON(f *testing.F) {
	for _, s := range []string{"Acme", `<b>"quoted" & \back</b>`, "tab\there\nnew\x01", "\u2028\u2029 é 😀", "bad \xff\xfe bytes", "\b\f", ""} {
		f.Add(s, "member0000042", int64(7), true)
	}
	f.Fuzz(func(t *testing.T, name, user string, n int64, open bool) {
		expires := n * 3
		list := membershipList{
			{OrganizationID: n, OrganizationName: name, Role: guildhall.Role(user), Username: user, InviteStillOpen: open, Sender: name, Expires: &expires},
			{OrganizationID: -n, OrganizationName: user, Role: guildhall.RoleOwner},
		}
		got, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal([]membershipResult(list))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// TestMembersPageResultJSON: a page of fetch_memberships_of_organization
// is written as encoding/json wrote the map it used to be, in each shape.
func TestMembersPageResultJSON(t *testing.T) {
	list := membershipList{{OrganizationID: 1, OrganizationName: "A&B", Role: guildhall.RoleOwner, Username: "olivia"}}
	next, total, offset, five := "c<ursor>", 12, 0, 5
	for _, c := range []struct {
		page membersPageResult
		was  map[string]any
	}{
		{membersPageResult{Memberships: list}, map[string]any{"memberships": list, "next_cursor": nil}},
		{membersPageResult{Memberships: membershipList{}, NextCursor: &next}, map[string]any{"memberships": []membershipResult{}, "next_cursor": next}},
		{membersPageResult{Memberships: list, Limit: &five, Total: &total, Offset: &offset}, map[string]any{"memberships": list, "next_cursor": nil, "limit": 5, "total": total, "offset": offset}},
		{membersPageResult{Memberships: list, NextCursor: &next, Limit: &five}, map[string]any{"memberships": list, "next_cursor": next, "limit": 5, "total": nil}},
	} {
		want, _ := json.Marshal(success{Success: true, Result: c.was})
		got := append(c.page.appendJSON([]byte(`{"success":true,"result":`)), '}')
		if string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		if viaEncoding, _ := json.Marshal(c.page); string(viaEncoding) != string(c.page.appendJSON(nil)) {
			t.Errorf("MarshalJSON differs: %s", viaEncoding)
		}
	}
}

// TestHandWrittenResultsAreDocumented: the results written without
// encoding/json's reflection (membersPageResult, membershipList) are, in
// every shape they take, what the OpenAPI document declares for their
// functions, checked by the validator the contract tests use. The API
// tests meet only some shapes (not a search too broad to count, whose
// total is null), so each is checked here; and an answer the document does
// not describe is refused, so the check can fail.
func TestHandWrittenResultsAreDocumented(t *testing.T) {
	spec, err := json.Marshal(New(nil, Config{}).openAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatal(err)
	}
	// VisitJSON needs a schema that passed Validate; the schemas are JSON
	// Schema 2020-12, as the document is OpenAPI 3.1.
	if err := doc.Validate(context.Background(), openapi3.IsOpenAPI31OrLater()); err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			t.Fatalf("no schema %s in the document", name)
		}
		return s.Value
	}
	expires := int64(1767225600)
	member := membershipResult{OrganizationID: 1, OrganizationName: "A&B <c>", Role: guildhall.RoleOwner, Username: "olivia"}
	invited := membershipResult{OrganizationID: 1, OrganizationName: "A&B <c>", Role: guildhall.RoleViewer, Username: "zed", InviteStillOpen: true, Sender: "olivia", Expires: &expires}
	mine := membershipResult{OrganizationID: 2, OrganizationName: "Beta", Role: guildhall.RoleMember, InviteStillOpen: true, Sender: "bob", Expires: &expires}
	rows := membershipList{member, invited}
	next, total, offset, limit := "c<ursor>", 12, 50, 5
	cases := []struct {
		name   string
		schema string
		answer []byte
		valid  bool
	}{
		{"the organization alone", "FetchMembershipsOfOrganizationResult", membersPageResult{Memberships: rows}.appendJSON(nil), true},
		{"an empty page with a next one", "FetchMembershipsOfOrganizationResult", membersPageResult{Memberships: membershipList{}, NextCursor: &next}.appendJSON(nil), true},
		{"a page by offset", "FetchMembershipsOfOrganizationResult", membersPageResult{Memberships: rows, Limit: &limit, Total: &total, Offset: &offset}.appendJSON(nil), true},
		{"a page by cursor", "FetchMembershipsOfOrganizationResult", membersPageResult{Memberships: rows, NextCursor: &next, Limit: &limit, Total: &total}.appendJSON(nil), true},
		{"a search too broad to count", "FetchMembershipsOfOrganizationResult", membersPageResult{Memberships: membershipList{}, NextCursor: &next, Limit: &limit}.appendJSON(nil), true},
		{"a user's own memberships", "FetchMembershipsResult", must(json.Marshal(membershipsResult{Memberships: membershipList{mine, {OrganizationID: 3, OrganizationName: "C", Role: guildhall.RoleAdmin}}, NextCursor: &next})), true},
		{"a sign-in", "LoginResult", must(json.Marshal(userResult{Username: "bob", Memberships: membershipList{mine}, Auth: "tk-x"})), true},
		{"a page without its cursor", "FetchMembershipsOfOrganizationResult", []byte(`{"memberships":[]}`), false},
		{"an offset of null", "FetchMembershipsOfOrganizationResult", []byte(`{"limit":5,"memberships":[],"next_cursor":null,"offset":null,"total":null}`), false},
		{"a row without its role", "FetchMembershipsOfOrganizationResult", []byte(`{"memberships":[{"organization_id":1,"organization_name":"A","invite_still_open":false}],"next_cursor":null}`), false},
	}
	for _, c := range cases {
		var answer any
		if err := json.Unmarshal(c.answer, &answer); err != nil {
			t.Fatalf("%s: %s: %v", c.name, c.answer, err)
		}
		err := schema(c.schema).VisitJSON(answer, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
		if ok := err == nil; ok != c.valid {
			t.Errorf("%s: %s against %s: valid %v, want %v (%v)", c.name, c.answer, c.schema, ok, c.valid, err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
