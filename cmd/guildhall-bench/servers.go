package main

import (
	"context"
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
// database of its own: a SQLite file, or a PostgreSQL database that one
// or more nodes share.
type serverMode struct {
	label      string
	flags      []string
	sizes      []int                 // the organizations to seed for the read phases
	postgres   string                // the PostgreSQL server to make the database on; "": a SQLite file
	nodes      int                   // servers on the database; 0 is 1
	spread     int                   // organizations the invitations are dealt over; 0: one, fx.InviteOrg
	procs      []*serverproc.Process // every node, the first first
	srv        *serverproc.Process   // the first node, procs[0]
	dbPath     string                // the file, or the database's URL
	drop       func()                // drops the PostgreSQL database
	fx         fixture.Fixtures
	inviteOrgs []int64       // where the invitations go
	orgs       map[int]int64 // the seeded organizations, by size
	slug       string        // names its profiles
	prof       *profiler     // nil unless -profile
	next       atomic.Int64  // the last invitee used
}

// start seeds a fresh database (in dir, or on the PostgreSQL server) and
// starts the server (each node) on it with the abuse limits off, then
// sets up the fixtures.
func (m *serverMode) start(ctx context.Context, client *http.Client, cfg config, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m.dbPath = filepath.Join(dir, "guildhall.db")
	var err error
	if m.postgres != "" {
		if m.dbPath, m.drop, err = createDatabase(ctx, m.postgres); err != nil {
			return err
		}
	}
	fmt.Printf("seeding %d invitees and organizations of %v members in %s ...\n", cfg.invitees, m.sizes, m.dbPath)
	began := time.Now()
	if m.orgs, err = fixture.Seed(ctx, m.dbPath, cfg.invitees, m.sizes); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("  seeded in %v\n", time.Since(began).Round(time.Second))
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", m.dbPath, "--max-pending-invites", "0", "--invite-rate", "0", "--org-rate", "0"}
	args = append(args, m.flags...)
	args = append(args, strings.Fields(cfg.serverFlags)...)
	if cfg.profileDir != "" {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	fmt.Printf("starting %s %s\n", cfg.bin, strings.Join(args, " "))
	for range max(1, m.nodes) {
		p, err := serverproc.Start(ctx, cfg.bin, args, nil)
		if err != nil {
			return err
		}
		m.procs = append(m.procs, p)
	}
	m.srv = m.procs[0]
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return err
		}
		m.prof = &profiler{url: m.srv.Printed("profiler on "), dir: cfg.profileDir}
	}
	if m.fx, err = fixture.Setup(ctx, client, m.srv.URL); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	m.inviteOrgs = []int64{m.fx.InviteOrg}
	for i := range m.spread - 1 {
		org, err := fixture.CreateOrganization(ctx, client, m.srv.URL, m.fx.APIKey, fmt.Sprintf("Invitations %d", i+2))
		if err != nil {
			return fmt.Errorf("create an organization to invite to: %w", err)
		}
		m.inviteOrgs = append(m.inviteOrgs, org)
	}
	return nil
}

// servers is every node of the mode, the first first.
func (m *serverMode) servers() []*serverproc.Process { return m.procs }

// cpuTime is the CPU time of every node so far.
func (m *serverMode) cpuTime() time.Duration {
	var total time.Duration
	for _, p := range m.servers() {
		total += cpuTime(p.Pid())
	}
	return total
}

// peakRSS is the largest peak resident set of the nodes, in KiB.
func (m *serverMode) peakRSS() int64 {
	var peak int64
	for _, p := range m.servers() {
		peak = max(peak, peakRSS(p.Pid()))
	}
	return peak
}

// invite runs one invite phase: every request a new invitee, the requests
// dealt round the nodes in turn, and round the organizations; prof, if
// not nil, profiles it (the first node).
func (m *serverMode) invite(ctx context.Context, client *http.Client, cfg config, prof *profiler) result {
	wait := prof.during(ctx, "invite-"+m.slug, cfg.duration)
	defer wait()
	cpu := m.cpuTime()
	nodes := m.servers()
	r := drive(ctx, client, cfg.clients, cfg.duration, func() (*http.Request, error) {
		n := int(m.next.Add(1))
		if n > cfg.invitees {
			return nil, errOutOfInvitees
		}
		url, org := nodes[n%len(nodes)].URL, m.inviteOrgs[n%len(m.inviteOrgs)]
		return fixture.NewRequest(ctx, url, "invite_user_to_organization", fixture.InviteBody(m.fx.APIKey, fixture.InviteeName(n), org))
	})
	r.name = m.label
	r.cpu = m.cpuTime() - cpu
	return r
}

// checkInvites makes sure the database holds exactly the invitations
// that were acknowledged: none lost, none made without an answer.
func checkInvites(path string, orgs []int64, acknowledged int) error {
	raw, err := db.OpenRaw(path)
	if err != nil {
		return err
	}
	defer raw.Close()
	var n int
	for _, org := range orgs {
		var inOrg int
		if err := raw.QueryRow(`SELECT count(*) FROM memberships WHERE organization_id = ? AND status = 'pending'`, org).Scan(&inOrg); err != nil {
			return err
		}
		n += inOrg
	}
	if n != acknowledged {
		return fmt.Errorf("%d invitations acknowledged but %d in the database", acknowledged, n)
	}
	return nil
}
