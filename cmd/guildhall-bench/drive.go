package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// newClient is the one HTTP client every phase uses: keep-alive, one
// connection per concurrent client.
func newClient(clients int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        clients,
			MaxIdleConnsPerHost: clients,
			MaxConnsPerHost:     clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// errOutOfInvitees stops a worker when every seeded invitee has been used.
var errOutOfInvitees = errors.New("out of invitees; raise -invitees")

// result is one phase's figures.
type result struct {
	name     string
	ops      int
	ok       int
	non2xx   int
	errors   int
	elapsed  time.Duration
	lat      []time.Duration // sorted
	rss      int64           // server peak RSS in KiB, 0 if not measured
	cpu      time.Duration   // CPU time the serving process used in the phase, 0 if not measured
	stopNote string          // why a worker stopped early, if one did
	// A read phase's scenario, the size of its organization and its
	// clients, by which the growth table matches phases across sizes.
	phase         string
	size, clients int
	round         int // of a read phase's rounds, from 1
}

// cpuPerOp is the serving process's CPU per successful request, in µs
// (0 if not measured).
func (r result) cpuPerOp() float64 {
	if r.cpu <= 0 || r.ok == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.ok)
}

func (r result) perSecond() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(q*float64(len(r.lat))))]
}

// tally is one worker's count, merged into the phase's result at its end.
type tally struct {
	ok, non2xx, errs int
	lat              []time.Duration
	stop             string
}

// sum merges the workers' tallies into a result.
func sum(tallies []tally, elapsed time.Duration) result {
	r := result{elapsed: elapsed}
	for _, t := range tallies {
		r.ok += t.ok
		r.non2xx += t.non2xx
		r.errors += t.errs
		r.lat = append(r.lat, t.lat...)
		if t.stop != "" {
			r.stopNote = t.stop
		}
	}
	r.ops = r.ok + r.non2xx + r.errors
	slices.Sort(r.lat)
	return r
}

// drive runs clients workers for d, each sending the requests next builds
// one after another, and collects the answers.
func drive(ctx context.Context, client *http.Client, clients int, d time.Duration, next func() (*http.Request, error)) result {
	tallies := make([]tally, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			t := &tallies[w]
			t.lat = make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, err := next()
				if err != nil {
					t.stop = err.Error()
					return
				}
				began := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.errs++
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t.lat = append(t.lat, time.Since(began))
				if err != nil {
					t.errs++
				} else if resp.StatusCode/100 != 2 {
					t.non2xx++
				} else {
					t.ok++
				}
			}
		})
	}
	wg.Wait()
	return sum(tallies, time.Since(start))
}

// merge adds up the rounds of one phase.
func merge(rounds []result) result {
	out := result{name: rounds[0].name}
	for _, r := range rounds {
		out.ops += r.ops
		out.ok += r.ok
		out.non2xx += r.non2xx
		out.errors += r.errors
		out.elapsed += r.elapsed
		out.lat = append(out.lat, r.lat...)
		out.rss = max(out.rss, r.rss)
		out.cpu += r.cpu
		if r.stopNote != "" {
			out.stopNote = r.stopNote
		}
	}
	slices.Sort(out.lat)
	return out
}
