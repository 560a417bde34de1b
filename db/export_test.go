package db

import (
	"context"
	"fmt"
)

// SeedMembers adds n active members ("member00000", ...) to an
// organization in one transaction, for tests and benchmarks of large
// organizations: signing each up through the service would hash n passwords.
func (db *DB) SeedMembers(ctx context.Context, orgID int64, n int) error {
	return db.update(ctx, func(tx *Tx) error {
		for i := range n {
			res, err := tx.ExecContext(ctx, `INSERT INTO users (username, password_hash, created) VALUES (?, '!', ?)`,
				fmt.Sprintf("member%05d", i), unix(tx.now))
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			role := []string{"admin", "member", "member", "viewer"}[i%4]
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (organization_id, user_id, role, status, created, accepted) VALUES (?, ?, ?, 'active', ?, ?)`,
				orgID, id, role, unix(tx.now), unix(tx.now)); err != nil {
				return err
			}
		}
		return nil
	})
}
