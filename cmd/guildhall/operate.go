package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
