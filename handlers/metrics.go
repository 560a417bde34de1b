package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"guildhall/db"
)

// scrapeQueryTimeout bounds the database reads of one scrape (the open
// sessions), so a slow database cannot hold the scraper.
const scrapeQueryTimeout = 2 * time.Second

// Route labels for requests that name no route: any path no route matches
// (a scanner's probes must not each become a series), and /api/<name> for
// a name that is not a registered function.
const (
	unmatchedRoute       = "(unmatched)"
	unknownFunctionRoute = "/api/(unknown)"
)

// Metrics is the server's Prometheus instrumentation: requests by method,
// route (the route pattern, or /api/<function> for a registered function,
// never a raw path) and status; their latency; the group commit's batch
// sizes and the limits' refusals, which the service reports through
// db.Observer; the connection pools' use and the open sessions, read from
// the service at each scrape; and the Go runtime and process collectors.
// It keeps its own registry, never the global default one, so that
// several servers in one process (tests) count apart. One Metrics serves
// one Server.
type Metrics struct {
	registry *prometheus.Registry
	handler  http.Handler
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	batches  prometheus.Histogram
	refusals *prometheus.CounterVec
}

// Metrics is how the service's events reach the metrics.
var _ db.Observer = (*Metrics)(nil)

// NewMetrics makes the metrics in a registry of their own. Pass it to the
// service as db.Options.Observer and to New as Config.Metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_http_requests_total",
			Help: "HTTP requests answered, by method, route (pattern, or /api/<function>) and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "guildhall_http_request_duration_seconds",
			Help: "Time from a request's arrival to its complete answer, by method and route.",
			// From a cached read (sub-millisecond) to the request deadline (15 s).
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"method", "route"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "guildhall_db_group_commit_operations",
			Help:    "Write operations per shared commit (group commit; see docs/PERFORMANCE.md).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 to 256, the most one commit takes
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_limit_refusals_total",
			Help: "Requests refused by a limit: the login throttle (and its table being full), the sign-up, invitation and organization rates, and the open-invitation caps.",
		}, []string{"limit"}),
	}
	for _, limit := range db.Limits {
		m.refusals.WithLabelValues(limit) // each limit shows from the start, at 0
	}
	m.registry.MustRegister(m.requests, m.duration, m.batches, m.refusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// ContinueOnError: a gauge that cannot be read (the database is down)
	// leaves out that gauge, not the whole answer.
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// Handler serves the metrics in the Prometheus text format: New routes it
// at /metrics, or `guildhall serve --metrics-addr` on a listener of its own.
func (m *Metrics) Handler() http.Handler { return m.handler }

// GroupCommitted records the size of one shared commit (db.Observer).
func (m *Metrics) GroupCommitted(operations int) { m.batches.Observe(float64(operations)) }

// LimitRefused counts one refusal by the named limit (db.Observer).
func (m *Metrics) LimitRefused(limit string) { m.refusals.WithLabelValues(limit).Inc() }

// observeRequest counts one answered request and its latency.
func (m *Metrics) observeRequest(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(took.Seconds())
}

// watch registers the gauges read from the service at each scrape: its
// connection pools, and the open sessions when the pages are served (web
// is nil otherwise).
func (m *Metrics) watch(svc Observable, web *webPages, log *slog.Logger) {
	sc := &serviceCollector{svc: svc, log: log}
	if web != nil {
		sc.sessions, sc.idle = web.store.storage, web.store.idle
	}
	err := m.registry.Register(sc)
	if errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		panic("handlers: one Metrics serves one Server")
	} else if err != nil {
		panic("handlers: " + err.Error())
	}
}

// The gauges serviceCollector reports. The pools' are named as
// client_golang's own DBStatsCollector names them (go_sql_*), so existing
// dashboards read them; db_name is the pool ("write" or "read").
var (
	poolMaxOpen      = poolDesc("max_open_connections", "Maximum number of open connections to the database.")
	poolOpen         = poolDesc("open_connections", "The number of established connections both in use and idle.")
	poolInUse        = poolDesc("in_use_connections", "The number of connections currently in use.")
	poolIdle         = poolDesc("idle_connections", "The number of idle connections.")
	poolWaitCount    = poolDesc("wait_count_total", "The total number of connections waited for.")
	poolWaitDuration = poolDesc("wait_duration_seconds_total", "The total time blocked waiting for a new connection.")
	sessionsOpen     = prometheus.NewDesc("guildhall_sessions_open",
		"Sign-in sessions in force: neither idle past --session-idle nor past their absolute expiry.", nil, nil)
)

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("go_sql_"+name, help, []string{"db_name"}, nil)
}

// serviceCollector reads the pools' use and the open sessions at each scrape.
type serviceCollector struct {
	svc      Observable
	sessions SessionStorage // nil: no pages, no sessions
	idle     time.Duration
	log      *slog.Logger
}

func (sc *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxOpen, poolOpen, poolInUse, poolIdle, poolWaitCount, poolWaitDuration} {
		ch <- d
	}
	if sc.sessions != nil {
		ch <- sessionsOpen
	}
}

func (sc *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	for pool, st := range sc.svc.PoolStats() {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, pool)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, pool)
		}
		gauge(poolMaxOpen, float64(st.MaxOpenConnections))
		gauge(poolOpen, float64(st.OpenConnections))
		gauge(poolInUse, float64(st.InUse))
		gauge(poolIdle, float64(st.Idle))
		counter(poolWaitCount, float64(st.WaitCount))
		counter(poolWaitDuration, st.WaitDuration.Seconds())
	}
	if sc.sessions == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeQueryTimeout)
	defer cancel()
	n, err := sc.sessions.CountOpenSessions(ctx, sc.idle)
	if err != nil {
		sc.log.Warn("metrics: count the open sessions", "err", err)
		ch <- prometheus.NewInvalidMetric(sessionsOpen, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(sessionsOpen, prometheus.GaugeValue, float64(n))
}
