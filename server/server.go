// Package server is leadhouse's HTTP side: the authenticated callback endpoint, health checks, metrics and the status page.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/leadhouse/leadhouse/sink"
)

// Pipeline is the part of the sink pipeline the server uses. *sink.Pipeline implements it.
type Pipeline interface {
	// Submit hands over one request body, decoded into rows or rejected. When it returns nil the
	// record is durable; afterwards the pipeline holds no reference to in.Body or the rows, so both
	// can be reused for the next request.
	Submit(ctx context.Context, in sink.Input, dec sink.Decoded) (sink.Ack, error)
	// Ready reports why the pipeline cannot take callbacks, or nil.
	Ready() error
	// Stats is a snapshot of the pipeline's counters, read at every metrics scrape.
	Stats() sink.Stats
}

var _ Pipeline = (*sink.Pipeline)(nil)

// Options configure a Server. The zero value of every field but Pipeline and the credentials is
// replaced by the default stated in its comment.
type Options struct {
	// Pipeline receives every callback body, as rows or as a rejection. Required.
	Pipeline Pipeline

	// Tokens, WebhookSecrets and HMAC.Secrets are the credentials; at least one is required
	// unless InsecureNoAuth is set. By default a request must present every kind configured: a
	// token when Tokens are set, and a valid signature, of either scheme, when signing secrets
	// are (see AnyCredential).

	// Tokens are the accepted bearer tokens. Several may be valid at once so a token can be rotated
	// without downtime: add the new one, move the CRM to it, remove the old one. An empty token is
	// an error.
	Tokens []string
	// WebhookSecrets are Standard Webhooks signing secrets, "whsec_" and the base64 of the key
	// (see ParseWebhookSecret). A request signed by any one of them is authentic, so a secret can
	// be rotated without downtime.
	WebhookSecrets []string
	// WebhookTolerance is how far a request's webhook-timestamp may be from the server's clock,
	// either way; requests outside it get 401, so a captured request cannot be replayed later.
	// Default 5m, the specification's.
	WebhookTolerance time.Duration
	// WebhookMaxIDs bounds the webhook-ids remembered. A signed request whose webhook-id (under
	// the same secret) was answered while its timestamp is in the tolerance gets that answer
	// again and is not stored twice; past the bound the ids closest to leaving the tolerance are
	// forgotten first, and a re-delivery of a forgotten one is stored again (every view counts
	// the same body once). About 200 bytes each. Default 100,000.
	WebhookMaxIDs int
	// HMAC configures a generic signature header for CRMs that sign the body their own way.
	HMAC HMACOptions
	// AnyCredential accepts a request that presents any one valid credential, a token or a
	// signature, instead of every kind configured: for moving a CRM from tokens to signatures
	// without downtime. A wrong credential is not rescued by a right one of the other kind
	// unless AnyCredential is set.
	AnyCredential bool
	// InsecureNoAuth accepts callbacks without credentials, ignoring Tokens and signing secrets,
	// and turns the rate limits off. For local runs and load tests only.
	InsecureNoAuth bool

	// RateLimit is how many requests per second one credential (a token or a signing secret) may
	// send, in bursts of up to RateBurst; beyond it requests get 429 with Retry-After. It keeps a
	// leaked credential from taking the whole server. Default 500; negative turns it off.
	RateLimit float64
	// RateBurst is how many requests one credential may send at once. Default 1000.
	RateBurst int
	// AuthFailureBurst is how many failed authentications (missing or wrong credentials) one
	// client address may make at once; after them it may make one more every
	// AuthFailureInterval, and until then every request from it gets 429 with Retry-After,
	// whatever it presents, so credentials cannot be guessed at line rate. Default 10; negative
	// turns it off.
	AuthFailureBurst int
	// AuthFailureInterval is how often an address may fail once more after AuthFailureBurst.
	// Default 1m.
	AuthFailureInterval time.Duration
	// MaxTrackedAddresses bounds the addresses remembered for AuthFailureBurst (about 130 bytes
	// each); past it the address closest to being forgiven is forgotten first. Default 100,000.
	MaxTrackedAddresses int
	// TrustedProxies are the networks of the proxies (load balancers) in front of the server.
	// A request from one of them is taken to come from the address X-Forwarded-For names (the
	// rightmost one that is not itself a trusted proxy), for the limits and the recorded remote
	// address. Default none: the peer is the client, and X-Forwarded-For, which anyone can send,
	// is ignored. Behind a proxy without this, every client shares the proxy's address, and a
	// stranger's failed attempts block the CRM too.
	TrustedProxies []netip.Prefix

	// Metrics collects the server's and the pipeline's metrics and serves /metrics. Create it with
	// NewMetrics before the pipeline so that its OnFlush method can be the pipeline's flush hook.
	// Default: a new Metrics, which then sees no flushes.
	Metrics *Metrics
	// Logger receives failures to hand a callback to the pipeline, the http.Server's own
	// complaints, and at debug level every rejected or wrongly authenticated callback.
	// Default: slog.Default().
	Logger *slog.Logger

	// Addr is the TCP address ListenAndServe listens on. Default ":8080".
	Addr string
	// MaxBodyBytes is the largest callback body accepted; larger ones get 413. Default 1 MiB
	// (the CRM's callbacks are about 7 KiB). Keep it under the write-ahead log's record limit
	// (wal.Options.MaxRecordBytes), or bodies between the two are read before they get 413.
	MaxBodyBytes int64
	// MaxConcurrent caps the callbacks handled at once. Over the cap the server answers 503 at
	// once rather than queueing without bound. Default 512.
	MaxConcurrent int
	// RetryAfter is sent in the Retry-After header of every 503, rounded up to whole seconds.
	// Default 5s.
	RetryAfter time.Duration

	// ReadHeaderTimeout bounds reading a request's headers. Default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to the end of the
	// response. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next request.
	// Default 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request headers' size. Default 64 KiB.
	MaxHeaderBytes int
	// ShutdownTimeout bounds the graceful shutdown once ListenAndServe's context is cancelled:
	// in-flight callbacks get this long to finish before connections are closed. Default 25s,
	// under the 30s most supervisors wait before killing.
	ShutdownTimeout time.Duration

	// StoreStats reads the warehouse's numbers for the status page (rows per table, dead
	// letters, today's scenarios). Default nil: the page shows the process's own numbers only.
	StoreStats StoreStats
	// StoreStatsTimeout bounds one StoreStats call; past it the page says the store is
	// unavailable. Default 3s.
	StoreStatsTimeout time.Duration
	// StoreStatsMaxAge is how long a StoreStats answer (or failure) is reused, so that pages
	// polling the status never load the store. Default 10s.
	StoreStatsMaxAge time.Duration
	// WALMaxBytes is the write-ahead log's limit (wal.Options.MaxBytes), which the status page
	// shows the backlog against. Default 0: the page shows the backlog alone.
	WALMaxBytes int64
	// now is the clock of the limits and of the webhook-timestamp check; tests set it.
	// Default time.Now.
	now func() time.Time
}

func (o *Options) setDefaults() {
	if o.WebhookTolerance <= 0 {
		o.WebhookTolerance = 5 * time.Minute
	}
	if o.WebhookMaxIDs <= 0 {
		o.WebhookMaxIDs = 100_000
	}
	if o.RateLimit == 0 {
		o.RateLimit = 500
	}
	if o.RateBurst <= 0 {
		o.RateBurst = 1000
	}
	if o.AuthFailureBurst == 0 {
		o.AuthFailureBurst = 10
	}
	if o.AuthFailureInterval <= 0 {
		o.AuthFailureInterval = time.Minute
	}
	if o.MaxTrackedAddresses <= 0 {
		o.MaxTrackedAddresses = 100_000
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Addr == "" {
		o.Addr = ":8080"
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 512
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
	if o.StoreStatsTimeout <= 0 {
		o.StoreStatsTimeout = 3 * time.Second
	}
	if o.StoreStatsMaxAge <= 0 {
		o.StoreStatsMaxAge = 10 * time.Second
	}
}

// Server answers leadhouse's HTTP requests:
//
//	POST /v1/callbacks  a CRM lead callback (see ServeHTTP for the answers)
//	GET  /healthz       200 while the process serves HTTP
//	GET  /readyz        200 when the pipeline takes callbacks, 503 with the reason otherwise
//	GET  /metrics       Prometheus text exposition
//	GET  /, /status     the status page, for people (no token: aggregates only)
//	GET  /status.json   the numbers the status page shows (see ServeStatus)
//
// A Server is safe for concurrent use.
type Server struct {
	opts        Options
	auth        authenticator
	authOff     bool
	limits      *rateLimiter    // nil: no per-credential limit
	failures    *failureLimiter // nil: no limit on failed authentications
	replays     *replayCache    // nil: no Standard Webhooks secrets
	trusted     []netip.Prefix
	epoch       time.Time // the zero of the limits' clock
	metrics     *Metrics
	mux         *http.ServeMux
	sem         chan struct{}
	work        sync.Pool // of *work
	retryAfter  []string  // the Retry-After header value, shared read-only by every 503
	msgTooLarge []byte    // the 413 answer, naming the limit
	drainOnce   sync.Once
	draining    chan struct{} // closed when shutdown starts
	started     time.Time
	backlog     *backlogAge
	store       *storeCache
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	if opts.Pipeline == nil {
		return nil, errors.New("server needs a pipeline")
	}
	s := &Server{
		opts:       opts,
		metrics:    opts.Metrics,
		sem:        make(chan struct{}, opts.MaxConcurrent),
		retryAfter: []string{strconv.FormatInt(int64((opts.RetryAfter+time.Second-1)/time.Second), 10)},
		draining:   make(chan struct{}),
		started:    time.Now(),
	}
	// A backlog already in the log when the server starts was left by an earlier process.
	s.backlog = newBacklogAge(s.started, opts.Pipeline.Stats().WALBacklogBytes > 0)
	s.store = &storeCache{src: opts.StoreStats, timeout: opts.StoreStatsTimeout, maxAge: opts.StoreStatsMaxAge}
	s.msgTooLarge = appendError(nil, "body larger than "+strconv.FormatInt(opts.MaxBodyBytes, 10)+" bytes")
	if err := s.setupAuth(); err != nil {
		return nil, err
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if err := s.metrics.bind(opts.Pipeline, s); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.Handle("/v1/callbacks", http.HandlerFunc(s.serveCallback))
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.Handle("GET /metrics", s.metrics.Handler())
	s.mux.HandleFunc("GET /{$}", serveStatusPage)
	s.mux.HandleFunc("GET /status", serveStatusPage)
	s.mux.HandleFunc("GET /status/{file}", serveStatusAsset)
	s.mux.HandleFunc("GET /status.json", s.ServeStatus)
	return s, nil
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// ServeHTTP routes r to the endpoint for its path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) inflight() int { return len(s.sem) }

// setupAuth builds the authenticator and the limits from s.opts.
func (s *Server) setupAuth() error {
	o := &s.opts
	s.epoch = o.now()
	for _, p := range o.TrustedProxies {
		if !p.IsValid() {
			return errors.New("trusted proxy network is not valid")
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		s.trusted = append(s.trusted, p.Masked())
	}
	if o.InsecureNoAuth {
		s.authOff = true
		return nil
	}
	a, err := newAuthenticator(o)
	if err != nil {
		return err
	}
	s.auth = a
	if o.RateLimit > 0 {
		s.limits = newRateLimiter(a.credentials, o.RateLimit, o.RateBurst)
	}
	if o.AuthFailureBurst > 0 {
		s.failures = newFailureLimiter(o.AuthFailureBurst, o.AuthFailureInterval, o.MaxTrackedAddresses)
	}
	if a.webhook != nil {
		s.replays = newReplayCache(o.WebhookMaxIDs)
	}
	return nil
}

// clock returns the limits' time: nanoseconds since New on o.now's clock (monotonic with the
// default clock, so a step of the wall clock does not refill or drain a bucket).
func (s *Server) clock(t time.Time) int64 { return int64(t.Sub(s.epoch)) }

// NewHTTPServer returns an http.Server serving s with the timeouts and limits of s's Options.
// ListenAndServe and Serve use it; it is exported for callers that run the listener themselves.
func (s *Server) NewHTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.opts.Addr,
		Handler:           s,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
}

// ListenAndServe listens on Options.Addr and serves until ctx is cancelled, then shuts down
// gracefully (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP on ln until ctx is cancelled. Then /readyz turns 503, no new connections are
// accepted, and in-flight requests get Options.ShutdownTimeout to finish before the remaining
// connections are closed. Serve returns nil after a complete graceful shutdown. The caller closes
// the pipeline after Serve returns, so no callback is cut off mid-Submit.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.NewHTTPServer()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.drainOnce.Do(func() { close(s.draining) })
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// Handlers still running after Close may get sink.ErrClosed from Submit and answer 503,
		// which the CRM retries: nothing is acknowledged that was not stored.
		_ = hs.Close()
	}
	<-served
	if err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	return nil
}
