package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"guildhall/db/dbtest"
	"guildhall/db/migrations"
)

// TestMigrateCommand: `guildhall migrate` brings a new database to the
// binary's newest migration and says so, on SQLite and on PostgreSQL, and
// finds nothing to do the second time.
func TestMigrateCommand(t *testing.T) {
	for _, c := range []struct {
		name   string
		source func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "guildhall.db") }},
		{"PostgreSQL", func(t *testing.T) string { return dbtest.NewPostgres(t, "") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			source := c.source(t)
			all, _ := fs.Glob(migrations.SQLite, "*.sql") // numbered 1 to N
			want := fmt.Sprintf(" is at migration %d\n", len(all))
			for range 2 {
				var stdout, stderr bytes.Buffer
				if err := run(context.Background(), []string{"migrate", "--db", source}, nil, &stdout, &stderr); err != nil {
					t.Fatalf("migrate: %v\n%s", err, stderr.String())
				}
				if !strings.Contains(stdout.String(), want) {
					t.Fatalf("migrate said %q, want %q", stdout.String(), want)
				}
			}
		})
	}
}

// TestSourceName: a PostgreSQL URL is printed without its password.
func TestSourceName(t *testing.T) {
	for in, want := range map[string]string{
		"./guildhall.db": "./guildhall.db",
		"postgres://app:s3cret@db:5432/guildhall?sslmode=require":   "postgres://app:xxxxx@db:5432/guildhall?sslmode=require",
		"postgresql://app@db/guildhall?password=s3cret&sslmode=off": "postgresql://app@db/guildhall?password=xxxxx&sslmode=off",
	} {
		if got := sourceName(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("sourceName(%q) = %q, want %q", in, got, want)
		}
	}
}
