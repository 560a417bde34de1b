package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"guildhall/cmd/internal/fixture"
	"guildhall/db"
	"guildhall/handlers"
)

// BenchmarkReads serves the read phases of make bench that cost the most
// per request, the organization page and the API's first page of members,
// in this process: a database seeded by make bench's fixture.Seed (one
// organization of 10,000 members: a page costs the same at any size), the
// handler `guildhall serve` builds, and 32 goroutines per CPU (64 on make
// bench's two) calling it with a response writer that drops the body,
// without sockets or a client. It
// reports the process's CPU per request (cpu-µs/op), which moves little
// with the machine's load: the quick way to see what a change to the read
// path earns before make bench measures it against the network.
func BenchmarkReads(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "guildhall.db")
	orgs, err := fixture.Seed(ctx, path, 0, []int{10_000})
	if err != nil {
		b.Fatal(err)
	}
	store, err := db.Open(ctx, path, db.Options{Logger: slog.New(slog.DiscardHandler), GroupCommit: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	keys, err := sessionKeys(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	h := handlers.New(store, handlers.Config{Logger: slog.New(slog.DiscardHandler), Sessions: store, SessionKeys: keys})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	browser, err := fixture.SignIn(ctx, srv.Client(), srv.URL, fixture.Owner, fixture.OwnerPassword)
	if err != nil {
		b.Fatal(err)
	}
	fx, err := fixture.Setup(ctx, srv.Client(), srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	org := orgs[10_000]
	base, _ := url.Parse(srv.URL)
	cookies := browser.Jar.Cookies(base)
	for _, phase := range []struct {
		name    string
		request func() *http.Request
	}{
		{"org page", func() *http.Request {
			req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/orgs/%d", org), nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			return req
		}},
		{"API first page", func() *http.Request {
			body := fmt.Sprintf(`{"auth": {"api_key": %q}, "organization_id": %d}`, fx.APIKey, org)
			req := httptest.NewRequest(http.MethodPost, "/api/fetch_memberships_of_organization", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}},
	} {
		b.Run(phase.name, func(b *testing.B) {
			b.SetParallelism(32) // 64 clients on two CPUs, as make bench's
			b.ReportAllocs()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := &discardResponse{header: http.Header{}}
					h.ServeHTTP(w, phase.request())
					if w.status != http.StatusOK {
						b.Errorf("status %d", w.status)
						return
					}
				}
			})
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// discardResponse is a ResponseWriter that keeps the status and drops the
// body, as a socket would send it: a recorder's growing buffer would be
// counted against the server.
type discardResponse struct {
	header http.Header
	status int
}

func (w *discardResponse) Header() http.Header { return w.header }

func (w *discardResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
