package db

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"guildhall"
)

// cursor is where a paged list continues: the key of the row it is next
// to, which way to read, and the position of the page it leads to (for
// "51–100 of 1,234"). It travels as an opaque string (see encode). It
// holds nothing secret: a caller who forges one only picks another place
// in a list they may read anyway, and authorization is checked on every
// page as on the first.
type cursor struct {
	// List fingerprints the list it belongs to (listID): a cursor from
	// another list, or from this list with other filters, is refused.
	List string `json:"l"`
	// Back reads the rows before the key; otherwise those after it.
	Back bool `json:"b,omitempty"`
	// The key of the row, as the list orders it: a segment and a username
	// (member lists), a recency, or an id (a user's memberships, audit events).
	Seg     int    `json:"s,omitempty"`
	Name    string `json:"n,omitempty"`
	Recency int64  `json:"r,omitempty"`
	ID      int64  `json:"i,omitempty"`
	// Pos is the position of the first row of the page it leads to.
	Pos int `json:"p,omitempty"`
	// Scan says a search read the list in order, its names too many for
	// the username index: the next page need not ask the index again.
	Scan bool `json:"x,omitempty"`
}

// listID fingerprints a list: what it is and everything that shapes its
// order and content, so a cursor cannot wander into another list.
func listID(parts ...any) string {
	sum := sha256.Sum256(fmt.Append(nil, parts...))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// encode makes the opaque string a caller sends back.
func (c cursor) encode() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic("db: a cursor of plain fields cannot fail to encode: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor string for the list list; "" is the start
// (nil). A cursor that is not one of ours, or belongs to another list, is
// refused with EINVALID.
func decodeCursor(s, list string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := guildhall.Errorf(guildhall.EINVALID, "This cursor is not one the server gave; leave it out to start from the beginning.")
	if len(s) > guildhall.CursorMaxLen {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() || c.Pos < 0 || c.Seg < 0 || len(c.Name) > guildhall.UsernameMaxLen {
		return nil, bad
	}
	if c.List != list {
		return nil, guildhall.Errorf(guildhall.EINVALID, "This cursor belongs to another list (another organization, search, filter or order); leave it out to start from the beginning.")
	}
	return &c, nil
}
