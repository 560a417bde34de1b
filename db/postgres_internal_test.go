package db

import (
	"fmt"
	"testing"
)

// TestRebindPostgres: the service's SQLite placeholders become PostgreSQL's,
// numbered densely over the arguments the query uses, and index hints go;
// nothing inside quotes or comments changes.
func TestRebindPostgres(t *testing.T) {
	args := []any{"a", "b", "c", "d", "e", "f"}
	for _, c := range []struct {
		query, want string
		args        int    // how many arguments the caller passes
		picked      string // the arguments PostgreSQL gets
	}{
		{"SELECT 1", "SELECT 1", 0, "[]"},
		{"x = ? AND y = ?", "x = $1 AND y = $2", 2, "[a b]"},
		{"x = ?2 AND y = ?1 OR z = ?2", "x = $2 AND y = $1 OR z = $2", 2, "[a b]"},
		{"x = ?1 AND y = ? AND z = ?5", "x = $1 AND y = $2 AND z = $3", 5, "[a b e]"}, // ? follows the largest
		{"x = ?1 AND z = ?3 LIMIT ?4", "x = $1 AND z = $2 LIMIT $3", 5, "[a c d]"},    // ?2 and ?5 unused
		{"a = '?' AND b = \"q?\" AND c = ?", "a = '?' AND b = \"q?\" AND c = $1", 1, "[a]"},
		{"a = 'it''s ?' AND b = ?", "a = 'it''s ?' AND b = $1", 1, "[a]"},
		{"a = ? -- why?\n AND b = ? /* or? */", "a = $1 -- why?\n AND b = $2 /* or? */", 2, "[a b]"},
		{"FROM memberships INDEXED BY memberships_pending\n\t\t\tWHERE x = ?", "FROM memberships \n\t\t\tWHERE x = $1", 1, "[a]"},
		{"FROM m indexed  by m_p WHERE reindexed = 1", "FROM m  WHERE reindexed = 1", 0, "[]"},
		{"SELECT indexed_by_hand FROM t", "SELECT indexed_by_hand FROM t", 0, "[]"},
	} {
		got, picked := postgresDialect.sql(c.query, args[:c.args])
		if got != c.want || fmt.Sprint(picked) != c.picked {
			t.Errorf("%q:\n got %q %v\nwant %q %s", c.query, got, picked, c.want, c.picked)
		}
	}
	if q, a := sqliteDialect.sql("x = ?2", args[:3]); q != "x = ?2" || len(a) != 3 {
		t.Errorf("SQLite runs queries as written: %q %v", q, a)
	}
}
