package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"

	"guildhall/db"
)

// createDatabase makes a new database on the PostgreSQL server at server
// (-db) and returns its URL, and how to drop it at the end.
func createDatabase(ctx context.Context, server string) (string, func(), error) {
	u, err := url.Parse(server)
	if err != nil || !db.IsPostgresURL(server) {
		return "", nil, fmt.Errorf("-db %q is not a postgres:// URL", server)
	}
	admin, err := db.OpenRaw(server)
	if err != nil {
		return "", nil, err
	}
	name := "guildhall_bench_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create the benchmark's database: %w", err)
	}
	u.Path = "/" + name
	drop := func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}
