// Command guildhall runs the Guildhall organization-membership server.
//
//	guildhall serve [--addr 127.0.0.1:8000] [--db ./guildhall.db|postgres://...] [--signup=true] [--invite-ttl 168h] [--token-ttl 168h]
//	                [--max-pending-invites 1000] [--max-pending-invites-per-user 100] [--invite-rate 600]
//	                [--org-rate 10] [--signup-rate 20] [--group-commit=true]
//	                [--log-format text|json] [--metrics-addr HOST:PORT] [--pprof-addr HOST:PORT]
//	guildhall user add NAME            (password read from stdin)
//	guildhall migrate [--db ./guildhall.db|postgres://...]
//	guildhall backup FILE [--db ./guildhall.db] [--force]
//
// --db (GUILDHALL_DB) is a SQLite file, or a PostgreSQL 15+ database named
// by a postgres:// or postgresql:// URL, for several nodes on one database.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/handlers"
)

// Defaults for serve; each has an environment variable of the same meaning.
const (
	defaultAddr = "127.0.0.1:8000" // GUILDHALL_ADDR
	defaultDB   = "./guildhall.db" // GUILDHALL_DB
	// shutdownGrace is how long in-flight requests get to finish after
	// SIGINT or SIGTERM before the server closes their connections.
	shutdownGrace = 20 * time.Second
)

// serveGCPercent is the garbage collector's GOGC for guildhall serve when
// the environment does not set GOGC: collect when the heap has grown by
// twice what was live after the last collection, not Go's default of
// once. A server's live heap is small (a few megabytes) and each request
// allocates its answer anew, so at the default the collector took about a
// sixth of the CPU of a page of members (BenchmarkReads: 15–17% less CPU
// per page at 200). The price is a heap that peaks at three times the live
// one instead of two: make bench's server peaks at 84 MB of RSS instead of
// 62, under its 100 MB (docs/PERFORMANCE.md). GOGC set by the operator
// wins; a GOMEMLIMIT still bounds the heap on top of this.
const serveGCPercent = 200

// tuneGC sets serveGCPercent unless the environment (lookup) sets GOGC.
func tuneGC(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
}

// Limits on each connection, so a slow or hostile client cannot hold a
// connection or a goroutine for long. A request's own deadline, which
// reaches the database, is handlers.RequestTimeout, shorter than these.
const (
	readHeaderTimeout = 10 * time.Second  // to send the request line and headers
	readTimeout       = 30 * time.Second  // to send the whole request, body included
	writeTimeout      = 30 * time.Second  // from the end of the headers to the end of the answer
	idleTimeout       = 120 * time.Second // a keep-alive connection may wait between requests
	maxHeaderBytes    = 64 << 10          // request line and headers together
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "guildhall:", err)
		os.Exit(1)
	}
}

const usage = `Guildhall: an organization-membership server.

Usage:
  guildhall serve [flags]      run the HTTP server (see guildhall serve -h)
  guildhall user add NAME      create a user; the password is read from stdin
  guildhall migrate            apply the database's pending migrations, and serve nothing
  guildhall backup FILE        copy the SQLite database to FILE while it is in use (see guildhall backup -h)

--db (env GUILDHALL_DB) is a SQLite file, or a PostgreSQL 15+ database named
by a postgres:// or postgresql:// URL, which several servers may share.
`

// run dispatches a subcommand; it returns when the command is done or ctx
// is cancelled (by a signal).
func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch argv[0] {
	case "serve":
		return serve(ctx, argv[1:], stdout, stderr)
	case "user":
		if len(argv) < 2 || argv[1] != "add" {
			fmt.Fprint(stderr, usage)
			return errors.New("usage: guildhall user add NAME")
		}
		return userAdd(ctx, argv[2:], stdin, stdout, stderr)
	case "backup":
		return backup(ctx, argv[1:], stdout, stderr)
	case "migrate":
		return migrateCommand(ctx, argv[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", argv[0])
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// serveConfig is everything `guildhall serve` takes from flags and environment.
type serveConfig struct {
	addr      string
	dbPath    string
	signup    bool
	inviteTTL time.Duration
	// tokenTTL is how long a sign-in token from login or add_user lasts.
	tokenTTL time.Duration
	// The abuse limits; 0 turns one off.
	maxPendingInvites        int
	maxPendingInvitesPerUser int
	inviteRate               int
	orgRate                  int
	signupRate               int
	groupCommit              bool
	// The pages' sessions (see sessions.go).
	secureCookies  bool
	sessionIdle    time.Duration
	sessionMaxAge  time.Duration
	trustedProxies cidrList
	// Operating it (see operate.go).
	logFormat   string // "text" or "json"
	metricsAddr string // "": /metrics on addr
	pprofAddr   string // "": no profiling endpoint
}

// serveLimits ends `guildhall serve -h`: the limits no flag changes, as
// the README's limits section states them.
var serveLimits = fmt.Sprintf(`
Fixed limits:
  request body %d MiB (a form %d KiB); headers %d KiB, read within %v; %v per request
  passwords %d to %d characters (at most %d bytes); longer ones match nobody
  organization names %d characters, descriptions %d, API key titles %d: counted in characters,
    no control characters, direction overrides or invalid UTF-8
  X-Request-Id from a client kept only if 1 to %d of [A-Za-z0-9._-]
  failed logins are slowed, then locked out, per username and per address (see the README);
    at most %d usernames and addresses are counted at once (about 15 MiB), none ever evicted:
    when full, a login for one not counted gets 503 until failures 15 minutes old are forgotten
`, handlers.MaxBodyBytes>>20, handlers.MaxFormBytes>>10, maxHeaderBytes>>10, readHeaderTimeout, handlers.RequestTimeout,
	guildhall.PasswordMinLen, guildhall.PasswordMaxLen, guildhall.PasswordMaxBytes,
	guildhall.OrganizationNameMaxLen, guildhall.OrganizationDescriptionMaxLen, guildhall.APIKeyTitleMaxLen,
	handlers.RequestIDMaxLen, db.DefaultLoginThrottleMaxKeys)

func parseServe(argv []string, stderr io.Writer) (serveConfig, error) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", envOr("GUILDHALL_ADDR", defaultAddr), "listen address `host:port` (env GUILDHALL_ADDR)")
	fs.StringVar(&cfg.dbPath, "db", envOr("GUILDHALL_DB", defaultDB), dbFlagUsage)
	fs.BoolVar(&cfg.signup, "signup", true, "let people create their own accounts (add_user and /signup)")
	fs.DurationVar(&cfg.inviteTTL, "invite-ttl", guildhall.DefaultInviteTTL, "how long a pending invitation stays open")
	fs.DurationVar(&cfg.tokenTTL, "token-ttl", guildhall.DefaultTokenTTL, "how long a sign-in token from login or add_user stays valid")
	fs.IntVar(&cfg.maxPendingInvites, "max-pending-invites", db.DefaultMaxPendingInvites, "most open invitations one organization may have (0: no cap)")
	fs.IntVar(&cfg.maxPendingInvitesPerUser, "max-pending-invites-per-user", db.DefaultMaxPendingInvitesPerUser, "most open invitations one user may hold, from all organizations (0: no cap)")
	fs.IntVar(&cfg.inviteRate, "invite-rate", db.DefaultInviteRate, "most invitations one user may send a minute (0: no limit)")
	fs.IntVar(&cfg.orgRate, "org-rate", db.DefaultOrganizationRate, "most organizations one user may create an hour (0: no limit)")
	fs.IntVar(&cfg.signupRate, "signup-rate", db.DefaultSignupRate, "most sign-ups from one client address (IPv6: one /64) an hour (0: no limit)")
	fs.BoolVar(&cfg.groupCommit, "group-commit", true, "SQLite: commit concurrent writes together, one savepoint each, answering after the shared durable commit; false commits each write alone (see docs/PERFORMANCE.md). PostgreSQL commits many writes at once and ignores it")
	fs.BoolVar(&cfg.secureCookies, "secure-cookies", false, "mark cookies Secure: set this when browsers reach the server over HTTPS")
	fs.DurationVar(&cfg.sessionIdle, "session-idle", handlers.DefaultSessionIdleTimeout, "sign a browser out after this long without a request")
	fs.DurationVar(&cfg.sessionMaxAge, "session-max-age", handlers.DefaultSessionMaxAge, "sign a browser out this long after it signed in")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log lines as `text` (key=value) or json")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "serve /metrics on this `host:port` of its own instead of on --addr (default: on --addr, to loopback peers only)")
	fs.StringVar(&cfg.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this `host:port`, for go tool pprof; keep it private (default: off)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: guildhall serve [flags]\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), serveLimits)
	}
	fs.Var(&cfg.trustedProxies, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For gives the client address (repeatable; default: none, use the connection's address)")
	if err := fs.Parse(argv); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.sessionIdle <= 0 || cfg.sessionMaxAge <= 0 {
		return cfg, errors.New("--session-idle and --session-max-age must be positive")
	}
	if cfg.inviteTTL <= 0 || cfg.tokenTTL <= 0 {
		return cfg, errors.New("--invite-ttl and --token-ttl must be positive")
	}
	if cfg.maxPendingInvites < 0 || cfg.maxPendingInvitesPerUser < 0 || cfg.inviteRate < 0 || cfg.orgRate < 0 || cfg.signupRate < 0 {
		return cfg, errors.New("--max-pending-invites, --max-pending-invites-per-user, --invite-rate, --org-rate and --signup-rate must not be negative (0 turns a limit off)")
	}
	if _, err := newLogger(cfg.logFormat, io.Discard); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// httpServer is a server of h with the connection limits above, its
// errors logged as warnings. Each listener's server takes its own read and
// write timeouts (0: none).
func httpServer(h http.Handler, read, write time.Duration, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveHandler wraps the server's handler before it serves. It is the
// handler itself; the process tests, whose binary runs as the server,
// wrap it to hold an answer back and be killed before sending it.
var serveHandler = func(h http.Handler) http.Handler { return h }

// serve runs the HTTP server until ctx is cancelled, then lets in-flight
// requests finish (up to shutdownGrace) and closes the database.
func serve(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(argv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage is the answer
	} else if err != nil {
		return err
	}
	logger, err := newLogger(cfg.logFormat, stderr)
	if err != nil {
		return err
	}
	tuneGC(os.LookupEnv)
	metrics := handlers.NewMetrics()
	store, err := db.Open(ctx, cfg.dbPath, db.Options{InviteTTL: cfg.inviteTTL, TokenTTL: cfg.tokenTTL, Logger: logger, SignupClosed: !cfg.signup,
		MaxPendingInvites: cfg.maxPendingInvites, MaxPendingInvitesPerUser: cfg.maxPendingInvitesPerUser,
		InviteRate: cfg.inviteRate, OrganizationRate: cfg.orgRate, SignupRate: cfg.signupRate, GroupCommit: cfg.groupCommit,
		Observer: metrics})
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := sessionKeys(ctx, store)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := httpServer(serveHandler(handlers.New(store, handlers.Config{Logger: logger, Sessions: store, SignupClosed: !cfg.signup, SessionKeys: keys, SecureCookies: cfg.secureCookies,
		SessionIdleTimeout: cfg.sessionIdle, SessionMaxAge: cfg.sessionMaxAge, TrustedProxies: cfg.trustedProxies,
		Metrics: metrics, MetricsServedElsewhere: cfg.metricsAddr != ""})),
		readTimeout, writeTimeout, logger)
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if cfg.metricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		servers, listeners = append(servers, metricsServer(metrics.Handler(), logger)), append(listeners, mln)
		fmt.Fprintf(stdout, "guildhall metrics on http://%s/metrics\n", mln.Addr())
	}
	if cfg.pprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.pprofAddr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		servers, listeners = append(servers, pprofServer(logger)), append(listeners, pln)
		fmt.Fprintf(stdout, "guildhall profiler on http://%s/debug/pprof/\n", pln.Addr())
	}
	// The address line is printed on stdout so scripts and tests can find
	// the port when --addr asks for :0; the other listeners' lines come
	// first, so whoever waits for this one has seen them.
	fmt.Fprintf(stdout, "guildhall listening on http://%s (database %s)\n", ln.Addr(), sourceName(cfg.dbPath))

	served := make(chan error, len(servers))
	for i, s := range servers {
		go func() { served <- s.Serve(listeners[i]) }()
	}
	select {
	case err := <-served: // a listener failed: stop the other server too
		for _, s := range servers {
			s.Close()
		}
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// The metrics server stops last, so the drain can be watched.
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	for range servers {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	logger.Info("stopped")
	return nil
}

// userAdd creates a user from the shell, reading the password from the
// first line of stdin, so it never shows in the process list or history.
func userAdd(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", envOr("GUILDHALL_DB", defaultDB), dbFlagUsage)
	admin := fs.Bool("admin", false, "mark the user as a server administrator")
	// Accept flags before or after the name.
	var name string
	if len(argv) > 0 && !strings.HasPrefix(argv[0], "-") {
		name, argv = argv[0], argv[1:]
	}
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 || name == "" {
		return errors.New("usage: guildhall user add NAME [--db FILE|URL] [--admin] < password")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return errors.New("reading the password from stdin: give it as the first line")
	}
	password := strings.TrimRight(line, "\r\n")

	store, err := db.Open(ctx, *dbPath, db.Options{Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.CreateUser(ctx, name, password, *admin)
	if err != nil {
		return errors.New(guildhall.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created user %s\n", u.Username)
	return nil
}
