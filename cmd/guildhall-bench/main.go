// Command guildhall-bench measures Guildhall against the machine's own
// ceilings, in one run (`make bench`; docs/PERFORMANCE.md has the results):
//
//  1. ceiling (a): raw SQLite transactions, one read and one insert each,
//     through the same driver and DSN (db.DSN) and one writer connection,
//     as the server's; and the same at synchronous=NORMAL, which syncs
//     the WAL only at checkpoints (ceiling (a'), which Guildhall does not
//     use: it is the bar group commit is held to);
//  2. ceiling (b): a bare Echo handler that decodes the invite's JSON and
//     answers {"success": true}, in a process of its own;
//  3. the real server binary on a fresh database, once per commit mode:
//     invite_user_to_organization from N concurrent keep-alive clients,
//     each request a distinct invitee; with -db, also on PostgreSQL: one
//     node, and two nodes on one database with the requests dealt between
//     them;
//  4. reads, for organizations of each -sizes: pages of
//     fetch_memberships_of_organization (the first, one deep in the list by
//     its cursor, a search, each filter and order) and of the organization's
//     page, then how each phase's cost grows from the smallest to the
//     largest organization.
//
// The organizations are seeded into the read server's database before it
// starts, outside every measured phase. Every phase uses the same HTTP
// client and runs for a fixed time. The
// server runs with its abuse limits off (--max-pending-invites 0
// --invite-rate 0): the benchmark is one user sending invitations as fast
// as the machine allows, which the default limits exist to stop.
//
// The files: main.go the flags and the order of the phases; servers.go the
// server processes and their invite phase; postgres.go the PostgreSQL
// databases; ceilings.go ceilings (a) and (b); reads.go the read phases;
// drive.go the load driver and its figures; proc.go what /proc says about
// a process; report.go the printed report.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the flags, each a phase's shape.
const (
	defaultClients      = 64
	defaultRounds       = 3
	defaultDuration     = 4 * time.Second
	defaultReadDuration = time.Second
	defaultReadRounds   = 3
	defaultInvitees     = 200_000 // users created up front, one per invitation
	defaultSizes        = "1000,100000,1000000"
)

// config is the benchmark's flags.
type config struct {
	bin          string
	dir          string
	clients      int
	duration     time.Duration
	readDuration time.Duration
	readRounds   int
	invitees     int
	sizes        []int
	serverFlags  string
	postgres     string
	profileDir   string
	keep         bool
	noCeilings   bool
	rounds       int
}

func main() {
	if os.Getenv(echoCeilingEnv) != "" {
		if err := serveEchoCeiling(); err != nil {
			fmt.Fprintln(os.Stderr, "echo ceiling:", err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "guildhall server `binary` (default: go build ./cmd/guildhall into -dir)")
	flag.StringVar(&cfg.dir, "dir", "", "`directory` for the databases (default: a fresh one under ./tmp, on the repository's disk)")
	flag.IntVar(&cfg.clients, "clients", defaultClients, "concurrent keep-alive clients")
	flag.DurationVar(&cfg.duration, "duration", defaultDuration, "length of each write phase and ceiling, per round")
	flag.IntVar(&cfg.rounds, "rounds", defaultRounds, "rounds of the write phases and ceilings, back to back")
	flag.DurationVar(&cfg.readDuration, "read-duration", defaultReadDuration, "length of each read phase, per round")
	flag.IntVar(&cfg.readRounds, "read-rounds", defaultReadRounds, "rounds of the read phases, each measuring every size back to back")
	flag.IntVar(&cfg.invitees, "invitees", defaultInvitees, "users created up front to be invited, one per request")
	sizes := flag.String("sizes", defaultSizes, "members of the organizations the read phases list, comma-separated (none: no read phases)")
	flag.StringVar(&cfg.serverFlags, "server-flags", "", "extra flags for guildhall serve, space-separated")
	flag.StringVar(&cfg.postgres, "db", "", "a PostgreSQL server `URL` (postgres://...) on which the benchmark may create databases: adds the invite phase on PostgreSQL, one node and two")
	flag.StringVar(&cfg.profileDir, "profile", "", "write CPU profiles of the servers (the last round's invite phases, the read phases of the largest organization with many clients) to `directory`, for go tool pprof")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the databases afterwards")
	flag.BoolVar(&cfg.noCeilings, "no-ceilings", false, "measure the server only (no ratios)")
	flag.Parse()
	var err error
	if cfg.sizes, err = parseSizes(*sizes); err != nil {
		fmt.Fprintln(os.Stderr, "guildhall-bench: -sizes:", err)
		os.Exit(2)
	}
	if cfg.rounds < 1 || cfg.readRounds < 1 {
		fmt.Fprintln(os.Stderr, "guildhall-bench: -rounds and -read-rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "guildhall-bench:", err)
		os.Exit(1)
	}
}

// run prepares the directory and the servers, then runs the phases in order
// and prints the report.
func run(ctx context.Context, cfg config) error {
	if cfg.dir == "" {
		if err := os.MkdirAll("tmp", 0o755); err != nil {
			return err
		}
		dir, err := os.MkdirTemp("tmp", "bench-")
		if err != nil {
			return err
		}
		cfg.dir = dir
	}
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(cfg.dir)
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(cfg.dir, "guildhall")
		fmt.Printf("building %s\n", cfg.bin)
		build := exec.Command("go", "build", "-o", cfg.bin, "guildhall/cmd/guildhall")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the server: %w", err)
		}
	}
	printMachine(cfg)
	client := newClient(cfg.clients)

	// One server per commit mode, each on a fresh database; the reads run
	// on the last, the default mode.
	modes := []*serverMode{
		{label: "invite_user_to_organization, one commit each", flags: []string{"--group-commit=false"}, slug: "one-commit"},
		{label: "invite_user_to_organization, --group-commit", flags: []string{"--group-commit"}, slug: "group-commit", sizes: cfg.sizes},
	}
	readsOn := modes[len(modes)-1] // the group-commit server
	if cfg.postgres != "" {
		// Invitations to one organization take turns on PostgreSQL (its
		// count of open invitations); dealt over as many organizations as
		// clients, they need not.
		modes = append(modes,
			&serverMode{label: "invite_user_to_organization, PostgreSQL, 1 node", postgres: cfg.postgres, nodes: 1, slug: "postgres-1"},
			&serverMode{label: "invite_user_to_organization, PostgreSQL, 2 nodes", postgres: cfg.postgres, nodes: 2, slug: "postgres-2"},
			&serverMode{label: fmt.Sprintf("  the same, %d organizations, 1 node", cfg.clients), postgres: cfg.postgres, nodes: 1, spread: cfg.clients, slug: "postgres-1-spread"},
			&serverMode{label: fmt.Sprintf("  the same, %d organizations, 2 nodes", cfg.clients), postgres: cfg.postgres, nodes: 2, spread: cfg.clients, slug: "postgres-2-spread"})
	}
	for i, m := range modes {
		err := m.start(ctx, client, cfg, filepath.Join(cfg.dir, fmt.Sprintf("server%d", i)))
		if m.drop != nil {
			defer m.drop()
		}
		for _, p := range m.servers() {
			defer p.Kill()
		}
		if err != nil {
			return err
		}
	}
	var ceilA, ceilNormal *rawCeiling
	var ceilB *echoCeiling
	if !cfg.noCeilings {
		var err error
		if ceilA, err = newRawCeiling(ctx, filepath.Join(cfg.dir, "ceiling.db"), "FULL"); err != nil {
			return fmt.Errorf("ceiling (a): %w", err)
		}
		defer ceilA.close()
		if ceilNormal, err = newRawCeiling(ctx, filepath.Join(cfg.dir, "ceiling-normal.db"), "NORMAL"); err != nil {
			return fmt.Errorf("ceiling (a'): %w", err)
		}
		defer ceilNormal.close()
		if ceilB, err = startEchoCeiling(ctx); err != nil {
			return fmt.Errorf("ceiling (b): %w", err)
		}
		defer ceilB.srv.Kill()
	}

	// Rounds: each measures the ceilings and both modes back to back, so a
	// neighbour's load on a shared machine weighs on all of them alike,
	// and the ratios are taken within a round.
	var roundsA, roundsNormal, roundsB []result
	roundsInvite := make([][]result, len(modes))
	for round := 1; round <= cfg.rounds; round++ {
		fmt.Printf("round %d of %d\n", round, cfg.rounds)
		if ceilA != nil {
			fmt.Println("  ceiling (a): raw SQLite transactions, synchronous=FULL ...")
			roundsA = append(roundsA, ceilA.run(ctx, cfg))
			fmt.Println("  ceiling (a'): raw SQLite transactions, synchronous=NORMAL ...")
			roundsNormal = append(roundsNormal, ceilNormal.run(ctx, cfg))
			fmt.Println("  ceiling (b): bare Echo handler ...")
			roundsB = append(roundsB, ceilB.run(ctx, client, cfg))
		}
		for i, m := range modes {
			fmt.Printf("  %s ...\n", m.label)
			var prof *profiler
			if round == cfg.rounds {
				prof = m.prof
			}
			roundsInvite[i] = append(roundsInvite[i], m.invite(ctx, client, cfg, prof))
		}
	}
	var results []result
	if ceilA != nil {
		results = append(results, merge(roundsA), merge(roundsNormal), merge(roundsB))
		ceilB.srv.Stop()
	}
	for i, m := range modes {
		r := merge(roundsInvite[i])
		r.rss = m.peakRSS()
		results = append(results, r)
		if err := checkInvites(m.dbPath, m.inviteOrgs, r.ok); err != nil {
			return err
		}
	}

	// Reads, on the group-commit server.
	var reads []result
	if len(cfg.sizes) > 0 {
		fmt.Println("reads ...")
		var err error
		if reads, err = readPhases(ctx, client, readsOn, cfg); err != nil {
			return err
		}
		results = append(results, mergeReads(reads, cfg.sizes)...)
	}
	for _, m := range modes {
		for _, p := range m.servers() {
			if err := p.Stop(); err != nil {
				return fmt.Errorf("server did not stop cleanly: %w\n%s", err, p.Log())
			}
		}
	}
	printResults(results, cfg)
	printGrowth(reads, cfg.sizes)
	if ceilA != nil {
		printRatios(roundsA, roundsNormal, roundsB, roundsInvite, modes)
	}
	return nil
}

// parseSizes reads -sizes: whole numbers above zero, smallest first.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, field := range strings.Split(s, ",") {
		if field = strings.TrimSpace(field); field == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(field, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a number of members", field)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}
