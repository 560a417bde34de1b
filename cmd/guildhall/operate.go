package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// newLogger makes the server's structured logger: format "text" writes
// key=value lines (logfmt, for people and journald), "json" one JSON
// object a line (for a log pipeline).
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format is text or json, not %q", format)
}

// metricsServer serves the metrics alone, for --metrics-addr: an address
// only the scraper can reach, so that request counts, refusals and open
// sessions need not be public. It has the main server's timeouts; a scrape
// is small.
func metricsServer(metrics http.Handler, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics) // GET takes HEAD too
	return httpServer(mux, readTimeout, writeTimeout, logger)
}

// pprofServer serves Go's profiler alone, for --pprof-addr: `go tool pprof
// http://HOST:PORT/debug/pprof/profile?seconds=10` profiles the live
// server (the benchmark does so with -profile). It is off unless asked
// for, and belongs on a private address: a profile shows the program's
// internals, and taking one costs CPU. Its write timeout leaves room for a
// profile of up to a minute.
func pprofServer(logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	// No read timeout: its deadline stays on the connection while the
	// answer is made, and passing it cancels the request's context, which
	// would cut a profile longer than readTimeout short.
	return httpServer(mux, 0, pprofWriteTimeout, logger)
}

// pprofWriteTimeout bounds one answer of the profiler: a CPU profile
// answers once its seconds have passed.
const pprofWriteTimeout = 70 * time.Second
