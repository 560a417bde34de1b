// Package migrations holds Guildhall's numbered SQL migrations, embedded
// into the binary and applied in order at start-up by goose.
package migrations

import "embed"

// FS holds the *.sql migration files.
//
//go:embed *.sql
var FS embed.FS
