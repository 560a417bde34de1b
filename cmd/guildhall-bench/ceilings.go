package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	_ "modernc.org/sqlite"

	"guildhall/cmd/internal/fixture"
	"guildhall/cmd/internal/serverproc"
	"guildhall/db"
)

// rawCeiling measures ceiling (a): transactions of one read and one
// insert, from cfg.clients goroutines through one writer connection with
// BEGIN IMMEDIATE, on the server's DSN (db.DSN: the same driver, the same
// pragmas, synchronous=FULL), in a database file beside the server's; and
// ceiling (a'), the same at synchronous=NORMAL.
type rawCeiling struct {
	w           *sql.DB
	synchronous string // FULL or NORMAL
	next        atomic.Int64
}

// rawCeilingUsers is how many users the ceiling's reads look up.
const rawCeilingUsers = 100_000

// newRawCeiling makes ceiling (a) at path, with synchronous FULL (the
// server's) or NORMAL, which syncs the WAL only at checkpoints: a commit
// then survives kill -9 but not a power loss.
func newRawCeiling(ctx context.Context, path, synchronous string) (*rawCeiling, error) {
	// The last of two synchronous pragmas in the DSN is the one in force;
	// it is read back below.
	w, err := sql.Open("sqlite", db.DSN(path, "_txlock=immediate", "_pragma=synchronous("+synchronous+")"))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	var mode int
	if err := w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&mode); err != nil || mode != map[string]int{"NORMAL": 1, "FULL": 2}[synchronous] {
		w.Close()
		return nil, fmt.Errorf("synchronous is %d, want %s (%v)", mode, synchronous, err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE) STRICT`, nil},
		{`CREATE TABLE invitations (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), created INTEGER NOT NULL) STRICT`, nil},
		// The usernames are fixture.InviteeName's.
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		  INSERT INTO users (username) SELECT printf('invitee%07d', i) FROM n`, []any{rawCeilingUsers}},
	} {
		if _, err := w.ExecContext(ctx, q.sql, q.args...); err != nil {
			w.Close()
			return nil, err
		}
	}
	return &rawCeiling{w: w, synchronous: synchronous}, nil
}

func (c *rawCeiling) close() { c.w.Close() }

// run is one round of ceiling (a).
func (c *rawCeiling) run(ctx context.Context, cfg config) result {
	tallies := make([]tally, cfg.clients)
	deadline := time.Now().Add(cfg.duration)
	start, cpu := time.Now(), selfCPUTime()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Go(func() {
			t := &tallies[i]
			for time.Now().Before(deadline) {
				began := time.Now()
				if err := c.invite(ctx, fixture.InviteeName(int(c.next.Add(1)%rawCeilingUsers)+1)); err != nil {
					t.errs++
					continue
				}
				t.ok++
				t.lat = append(t.lat, time.Since(began))
			}
		})
	}
	wg.Wait()
	r := sum(tallies, time.Since(start))
	r.name = "ceiling (a) raw SQLite tx: 1 read + 1 insert"
	if c.synchronous != "FULL" {
		r.name = "ceiling (a') the same, synchronous=" + c.synchronous
	}
	r.cpu = selfCPUTime() - cpu
	return r
}

// invite is ceiling (a)'s transaction: look the invitee up, insert a row.
func (c *rawCeiling) invite(ctx context.Context, name string) error {
	tx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, name).Scan(&id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (user_id, created) VALUES (?, ?)`, id, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// echoCeilingEnv makes this program serve ceiling (b) instead of benchmarking.
const echoCeilingEnv = "GUILDHALL_BENCH_ECHO_CEILING"

// echoCeiling is ceiling (b): this program run again as a bare Echo server.
type echoCeiling struct {
	srv *serverproc.Process
}

func startEchoCeiling(ctx context.Context) (*echoCeiling, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	srv, err := serverproc.Start(ctx, self, nil, []string{echoCeilingEnv + "=1"})
	if err != nil {
		return nil, err
	}
	return &echoCeiling{srv: srv}, nil
}

// run is one round of ceiling (b): the same client, the same body.
func (c *echoCeiling) run(ctx context.Context, client *http.Client, cfg config) result {
	body := fixture.InviteBody("sk-"+strings.Repeat("x", 48), fixture.InviteeName(1), 1)
	cpu := cpuTime(c.srv.Pid())
	r := drive(ctx, client, cfg.clients, cfg.duration, func() (*http.Request, error) {
		return fixture.NewRequest(ctx, c.srv.URL, "invite_user_to_organization", body)
	})
	r.cpu = cpuTime(c.srv.Pid()) - cpu
	r.name = "ceiling (b) bare Echo: decode invite JSON, answer"
	r.rss = peakRSS(c.srv.Pid())
	return r
}

// serveEchoCeiling is ceiling (b)'s server: Echo, one route, the invite's
// JSON decoded into its fields, {"success": true} answered.
func serveEchoCeiling() error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Match([]string{http.MethodGet, http.MethodPost}, "/api/:function", func(c echo.Context) error {
		var args struct {
			Auth struct {
				APIKey string `json:"api_key"`
			} `json:"auth"`
			UsernameToInvite string `json:"username_to_invite"`
			OrganizationID   int64  `json:"organization_id"`
			MemberClass      string `json:"member_class"`
		}
		if err := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<20)).Decode(&args); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]any{"success": false, "error": "bad JSON", "code": "invalid_request"})
		}
		return c.JSON(http.StatusOK, map[string]bool{"success": true})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("echo ceiling listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	go func() {
		<-stop
		srv.Close()
	}()
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
