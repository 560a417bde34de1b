package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"guildhall/cmd/internal/fixture"
	"guildhall/cmd/internal/serverproc"
	"guildhall/db"
)

// serverMode is the server binary run with one set of flags, on a
// database of its own.
type serverMode struct {
	label  string
	flags  []string
	sizes  []int // the organizations to seed for the read phases
	srv    *serverproc.Process
	dbPath string
	fx     fixture.Fixtures
	orgs   map[int]int64 // the seeded organizations, by size
	slug   string        // names its profiles
	prof   *profiler     // nil unless -profile
	next   atomic.Int64  // the last invitee used
}

// start seeds a fresh database in dir and starts the server on it with the
// abuse limits off, then sets up the fixtures.
func (m *serverMode) start(ctx context.Context, client *http.Client, cfg config, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m.dbPath = filepath.Join(dir, "guildhall.db")
	fmt.Printf("seeding %d invitees and organizations of %v members in %s ...\n", cfg.invitees, m.sizes, m.dbPath)
	began := time.Now()
	var err error
	if m.orgs, err = fixture.Seed(ctx, m.dbPath, cfg.invitees, m.sizes); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("  seeded in %v\n", time.Since(began).Round(time.Second))
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", m.dbPath, "--max-pending-invites", "0", "--invite-rate", "0"}
	args = append(args, m.flags...)
	args = append(args, strings.Fields(cfg.serverFlags)...)
	if cfg.profileDir != "" {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	fmt.Printf("starting %s %s\n", cfg.bin, strings.Join(args, " "))
	if m.srv, err = serverproc.Start(ctx, cfg.bin, args, nil); err != nil {
		return err
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return err
		}
		m.prof = &profiler{url: m.srv.Printed("profiler on "), dir: cfg.profileDir}
	}
	if m.fx, err = fixture.Setup(ctx, client, m.srv.URL); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	return nil
}

// invite runs one invite phase: every request a new invitee; prof, if
// not nil, profiles it.
func (m *serverMode) invite(ctx context.Context, client *http.Client, cfg config, prof *profiler) result {
	wait := prof.during(ctx, "invite-"+m.slug, cfg.duration)
	defer wait()
	cpu := cpuTime(m.srv.Pid())
	r := drive(ctx, client, cfg.clients, cfg.duration, func() (*http.Request, error) {
		n := int(m.next.Add(1))
		if n > cfg.invitees {
			return nil, errOutOfInvitees
		}
		return fixture.NewRequest(ctx, m.srv.URL, "invite_user_to_organization", fixture.InviteBody(m.fx.APIKey, fixture.InviteeName(n), m.fx.InviteOrg))
	})
	r.name = m.label
	r.cpu = cpuTime(m.srv.Pid()) - cpu
	return r
}

// checkInvites makes sure the database holds exactly the invitations
// that were acknowledged: none lost, none made without an answer.
func checkInvites(path string, org int64, acknowledged int) error {
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		return err
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM memberships WHERE organization_id = ? AND status = 'pending'`, org).Scan(&n); err != nil {
		return err
	}
	if n != acknowledged {
		return fmt.Errorf("%d invitations acknowledged but %d in the database", acknowledged, n)
	}
	return nil
}
