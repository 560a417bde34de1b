package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler takes CPU profiles of a server started with --pprof-addr, for
// -profile: `go tool pprof -top FILE` then shows where a phase's CPU went.
type profiler struct {
	url string // the server's /debug/pprof/ address
	dir string // where profiles are written
}

// during starts a CPU profile of about d (whole seconds, at least one)
// and returns a function that waits for it and writes it to name.pprof
// in the profile directory. A profile that fails is reported, not fatal:
// the figures of the phase stand without it.
func (p *profiler) during(ctx context.Context, name string, d time.Duration) (wait func()) {
	if p == nil || p.url == "" {
		return func() {}
	}
	secs := max(1, int(d/time.Second)-1) // inside the phase, which is still warming up at its start
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := filepath.Join(p.dir, name+".pprof")
		if err := p.fetch(ctx, secs, path); err != nil {
			fmt.Printf("  profile %s: %v\n", name, err)
			return
		}
		fmt.Printf("  profile %s: %s (%d s)\n", name, path, secs)
	}()
	return func() { <-done }
}

func (p *profiler) fetch(ctx context.Context, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%sprofile?seconds=%d", p.url, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
