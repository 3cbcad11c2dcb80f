package server

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// Reasons recorded with a dead letter for a body the server rejected for its content.
const (
	ReasonNotJSON     = "not_json"
	ReasonNotCallback = "not_callback"
)

// Header values shared read-only by every response, so setting a header allocates nothing.
var (
	contentTypeJSON = []string{"application/json"}
	allowPost       = []string{"POST"}
	bearerChallenge = []string{`Bearer realm="leadhouse"`}
	invalidToken    = []string{`Bearer realm="leadhouse", error="invalid_token"`}
	// A 401 must name a scheme; signatures have no registered one, so this names it plainly.
	signatureChallenge = []string{`Signature realm="leadhouse"`}
	bearerOrSignature  = []string{`Bearer realm="leadhouse"`, `Signature realm="leadhouse"`}
)

// work is the per-request scratch space, pooled so that a callback allocates next to nothing.
type work struct {
	body []byte
	resp []byte
	rows schema.Rows
	f    *flatten.Flattener

	// Signature checking: the v1 signatures of webhook-signature, the generic header's
	// digest (hmacSig, in sig), and room for the signed "id.timestamp." prefix.
	sigs    [][sha256.Size]byte
	sig     [sha512.Size]byte
	hmacSig []byte
	head    []byte
}

// maxPooledBody is the largest body buffer put back in the pool: a rare huge callback should not
// pin its buffer for the life of the process.
const maxPooledBody = 256 << 10

func (s *Server) getWork() *work {
	if w, ok := s.work.Get().(*work); ok {
		return w
	}
	return &work{body: make([]byte, 0, 16<<10), resp: make([]byte, 0, 128), f: flatten.New(),
		sigs: make([][sha256.Size]byte, 0, 4), head: make([]byte, 0, maxWebhookID+32)}
}

func (s *Server) putWork(w *work) {
	if cap(w.body) > maxPooledBody {
		return
	}
	w.body = w.body[:0]
	w.resp = w.resp[:0]
	w.sigs = w.sigs[:0]
	w.hmacSig = nil
	w.rows.Reset()
	s.work.Put(w)
}

// serveCallback handles POST /v1/callbacks. The answers, all JSON:
//
//	202 {"callback_id":"…","lead_id":N}  the callback is durable (in the write-ahead log); also
//	                                      the answer, repeated, to a webhook-id delivered again
//	400 {"error":"…","offset":N}         the body is not JSON; it is kept as a dead letter
//	401 {"error":"…"}                     missing or wrong credentials: the token (WWW-Authenticate:
//	                                      Bearer), the signature, or its timestamp; the error says which
//	405                                   not a POST (Allow: POST)
//	413                                   the body exceeds Options.MaxBodyBytes
//	415                                   a Content-Encoding other than identity
//	422 {"error":"…"}                     JSON but not a callback (not an object, no valid lead_id);
//	                                      it is kept as a dead letter
//	429 (Retry-After)                     the credential's rate limit, or the client address failed
//	                                      to authenticate too often (Options.AuthFailureBurst)
//	503 (Retry-After)                     too many callbacks in flight, the pipeline's backlog is
//	                                      full, the log cannot be written, the body could not be
//	                                      read to its end, the server is shutting down, or the
//	                                      same webhook-id is being handled by another request
//
// Authentication comes first and costs no body when the headers settle it: a token, or a
// signature's headers and timestamp; a signature itself is checked once the body is read. The
// order of the checks is: the address's failure limit, credentials, the credential's rate
// limit, then the body.
//
// Any Content-Type is accepted: the body is parsed as JSON whatever it claims to be, because the
// CRM's documentation does not say which type it sends and a rejected type would lose callbacks.
// A body rejected for its content is always handed to the pipeline as a dead letter before the
// answer; when that hand-off fails the answer is 503, so the CRM sends it again.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o := s.callback(w, r, start)
	end := time.Now()
	s.metrics.observe(o, end, end.Sub(start))
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request, start time.Time) outcome {
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = allowPost
		writeJSON(w, http.StatusMethodNotAllowed, msgMethodNotAllowed)
		return outcomeMethodNotAllowed
	}
	now := s.opts.now()
	clock := s.clock(now)
	cl := clientOf(r, s.trusted)
	if d, blocked := s.failures.blocked(cl.key, clock); blocked {
		return s.tooMany(w, r, keyAddress, d, msgAddressBlocked)
	}
	wk := s.getWork()
	defer s.putWork(wk)
	var st authState
	if !s.authOff {
		if aerr := s.auth.checkHeaders(r, now.Unix(), wk, &st); aerr != nil {
			return s.unauthorized(w, r, cl, clock, aerr)
		}
		if st.scheme == schemeNone {
			if d, ok := s.limits.take(st.cred, clock); !ok {
				return s.tooMany(w, r, keyCredential, d, msgRateLimited)
			}
		}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		writeJSON(w, http.StatusUnsupportedMediaType, msgEncoding)
		return outcomeUnsupportedEncoding
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		// Left unread, the body costs little: net/http discards at most 256 KiB of it and then
		// closes the connection.
		writeJSON(w, http.StatusRequestEntityTooLarge, s.msgTooLarge)
		return outcomeTooLarge
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.unavailable(w, msgBusy)
		return outcomeUnavailable
	}

	body, err := readBody(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), wk.body, r.ContentLength)
	wk.body = body
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, s.msgTooLarge)
			return outcomeTooLarge
		}
		// A body cut short (the sender stalled past the read timeout, or the connection broke)
		// is not the sender's content: it is not kept. The answer is a 503 with Retry-After, not
		// a 4xx, because webhook senders treat a 4xx as final and would never send it again.
		wk.resp = appendError(wk.resp[:0], "cannot read body: "+err.Error())
		w.Header()["Retry-After"] = s.retryAfter
		writeJSON(w, http.StatusServiceUnavailable, wk.resp)
		return outcomeReadError
	}
	if st.scheme != schemeNone {
		if aerr := s.auth.checkBody(body, wk, &st); aerr != nil {
			return s.unauthorized(w, r, cl, clock, aerr)
		}
		if d, ok := s.limits.take(st.cred, clock); !ok {
			return s.tooMany(w, r, keyCredential, d, msgRateLimited)
		}
	}

	in := sink.Input{Body: body, ReceivedAt: start, Remote: cl.remote}
	if st.scheme == schemeWebhook {
		return s.deliverOnce(w, r, wk, in, &st, now)
	}
	return s.deliver(w, r, wk, in)
}

// deliverOnce delivers a Standard Webhooks request unless its webhook-id was answered before
// within the tolerance; then it repeats that answer and stores nothing.
func (s *Server) deliverOnce(w http.ResponseWriter, r *http.Request, wk *work, in sink.Input, st *authState, now time.Time) (o outcome) {
	// The id is forgotten when its timestamp leaves the tolerance: a request carrying it is
	// refused from then on.
	exp := (st.wh.unix + s.auth.webhook.tolerance + 1) * int64(time.Second)
	ans, seen, res := s.replays.begin(newReplayKey(st.cred, st.wh.id, wk.head), exp, now.UnixNano())
	switch {
	case seen && ans.status == 0:
		s.unavailable(w, msgDeliveryInProgress)
		return outcomeUnavailable
	case seen:
		s.debug(r, "webhook-id delivered again: answered as before, not stored", "status", ans.status)
		w.Header()["Content-Type"] = contentTypeJSON
		w.WriteHeader(ans.status)
		_, _ = io.WriteString(w, ans.body)
		return outcomeReplayed
	}
	o = outcomeUnavailable // what a panic in deliver amounts to: nothing was stored
	defer func() { s.replays.finish(res, o, wk.resp) }()
	return s.deliver(w, r, wk, in)
}

// deliver flattens the body and hands it to the pipeline, as rows or as a dead letter.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, wk *work, in sink.Input) outcome {
	ferr := wk.f.Flatten(in.Body, in.ReceivedAt, &wk.rows)
	if ferr != nil {
		return s.reject(w, r, wk, in, ferr)
	}
	ack, err := s.opts.Pipeline.Submit(r.Context(), in, sink.Decoded{Rows: &wk.rows})
	if err != nil {
		return s.submitFailed(w, r, err)
	}
	s.backlog.acked(in.ReceivedAt, ack.Position)
	wk.resp = appendAccepted(wk.resp[:0], wk.rows.Lead.CallbackID, wk.rows.Lead.LeadID)
	writeJSON(w, http.StatusAccepted, wk.resp)
	return outcomeAccepted
}

// unauthorized answers 401 to a request whose credentials were refused, and counts the failure
// against its address. The log names the reason and the address, never the credential.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, cl client, clock int64, aerr *authError) outcome {
	s.failures.fail(cl.key, clock)
	s.metrics.authFailed(aerr.reason)
	s.debug(r, "callback refused: not authenticated", "reason", aerr.reason.String(), "client", cl.remote)
	switch {
	case aerr.reason == reasonMissingToken:
		w.Header()["Www-Authenticate"] = bearerChallenge
	case aerr.reason == reasonInvalidToken:
		w.Header()["Www-Authenticate"] = invalidToken
	case aerr.reason == reasonMissingCredentials:
		w.Header()["Www-Authenticate"] = bearerOrSignature
	default:
		w.Header()["Www-Authenticate"] = signatureChallenge
	}
	writeJSON(w, http.StatusUnauthorized, aerr.msg)
	return outcomeUnauthorized
}

// tooMany answers 429 with a Retry-After of d, rounded up to whole seconds.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, kind keyKind, d time.Duration, msg []byte) outcome {
	s.metrics.rateLimited(kind)
	s.debug(r, "callback refused: rate limited", "key_kind", kind.String())
	secs := max(int64((d+time.Second-1)/time.Second), 1)
	w.Header()["Retry-After"] = []string{strconv.FormatInt(secs, 10)}
	writeJSON(w, http.StatusTooManyRequests, msg)
	return outcomeRateLimited
}

// Reason names why flatten refused a body, for the dead letter: ReasonNotJSON or
// ReasonNotCallback. The pipeline's replayer must name refusals the same way (sink.Options.Reason).
func Reason(err error) string {
	if errors.Is(err, flatten.ErrNotJSON) {
		return ReasonNotJSON
	}
	// Anything else flatten refuses is the content's fault too (flatten does no I/O), so it is
	// a 422 like a missing lead_id.
	return ReasonNotCallback
}

// reject keeps a body that flatten refused as a dead letter and answers 400 or 422.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, wk *work, in sink.Input, ferr error) outcome {
	reason := Reason(ferr)
	s.debug(r, "callback rejected", "reason", reason, "err", ferr)
	ack, err := s.opts.Pipeline.Submit(r.Context(), in, sink.Decoded{Reason: reason, Err: ferr})
	if err != nil {
		return s.submitFailed(w, r, err)
	}
	s.backlog.acked(in.ReceivedAt, ack.Position)
	wk.resp = appendError(wk.resp[:0], ferr.Error())
	if reason == ReasonNotCallback {
		writeJSON(w, http.StatusUnprocessableEntity, wk.resp)
		return outcomeNotCallback
	}
	if se, ok := errors.AsType[*flatten.SyntaxError](ferr); ok {
		wk.resp = appendOffset(wk.resp, se.Offset)
	}
	writeJSON(w, http.StatusBadRequest, wk.resp)
	return outcomeNotJSON
}

// submitFailed answers a request whose body the pipeline did not take: 503, since nothing was
// stored and the CRM retries, except for a body the write-ahead log can never hold.
func (s *Server) submitFailed(w http.ResponseWriter, r *http.Request, err error) outcome {
	switch {
	case errors.Is(err, wal.ErrTooLarge):
		// Only when Options.MaxBodyBytes is set above the log's record limit.
		writeJSON(w, http.StatusRequestEntityTooLarge, s.msgTooLarge)
		return outcomeTooLarge
	case errors.Is(err, sink.ErrBacklogFull):
		s.unavailable(w, msgBacklogFull)
	case errors.Is(err, sink.ErrUnavailable):
		s.unavailable(w, msgStoreDown)
	case errors.Is(err, sink.ErrClosed):
		s.unavailable(w, msgShuttingDown)
	default:
		if r.Context().Err() == nil {
			s.opts.Logger.Error("cannot submit callback", "remote", r.RemoteAddr, "err", err)
		}
		s.unavailable(w, msgSubmitFailed)
	}
	return outcomeUnavailable
}

// debug logs at debug level, checking first so that the arguments cost nothing when it is off.
func (s *Server) debug(r *http.Request, msg string, args ...any) {
	if s.opts.Logger.Enabled(r.Context(), slog.LevelDebug) {
		s.opts.Logger.Log(r.Context(), slog.LevelDebug, msg, append([]any{"remote", r.RemoteAddr}, args...)...)
	}
}

func (s *Server) unavailable(w http.ResponseWriter, msg []byte) {
	w.Header()["Retry-After"] = s.retryAfter
	writeJSON(w, http.StatusServiceUnavailable, msg)
}

// readBody reads r to its end, appending to buf. A declared length sizes buf in one step; without
// one buf grows as io.ReadAll's would, but is kept for the next request.
func readBody(r io.Reader, buf []byte, length int64) ([]byte, error) {
	buf = buf[:0]
	if length > 0 {
		// One byte more than declared, so that reading the EOF needs no further growth.
		buf = slices.Grow(buf, int(length)+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4<<10)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// The fixed answers, as JSON.
var (
	msgMethodNotAllowed = []byte(`{"error":"method not allowed: POST a callback"}`)
	msgNoToken          = []byte(`{"error":"missing token: send Authorization: Bearer <token> or ?token=<token>"}`)
	msgBadToken         = []byte(`{"error":"invalid token"}`)
	msgEncoding         = []byte(`{"error":"unsupported Content-Encoding: send the body uncompressed"}`)
	msgBusy             = []byte(`{"error":"too many callbacks in flight, retry later"}`)
	msgBacklogFull      = []byte(`{"error":"backlog full, retry later"}`)
	msgStoreDown        = []byte(`{"error":"store unavailable, retry later"}`)
	msgShuttingDown     = []byte(`{"error":"shutting down, retry later"}`)
	msgSubmitFailed     = []byte(`{"error":"cannot store the callback, retry later"}`)
	msgRateLimited      = []byte(`{"error":"rate limit of this credential exceeded, retry later"}`)
	msgAddressBlocked   = []byte(`{"error":"too many failed authentications from this address, retry later"}`)

	msgDeliveryInProgress = []byte(`{"error":"a delivery with this webhook-id is being handled, retry later"}`)
)

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// appendAccepted appends the 202 answer. Callback ids are hex and lead ids numbers, so neither
// needs escaping; the id is escaped anyway in case a future id scheme is not hex.
func appendAccepted(b []byte, callbackID string, leadID uint64) []byte {
	b = append(b, `{"callback_id":`...)
	b = appendJSONString(b, callbackID)
	b = append(b, `,"lead_id":`...)
	b = strconv.AppendUint(b, leadID, 10)
	return append(b, '}')
}

// appendError appends the object {"error":msg}.
func appendError(b []byte, msg string) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	return append(b, '}')
}

// appendOffset adds an "offset" field to the object appendError wrote.
func appendOffset(b []byte, offset int64) []byte {
	b = b[:len(b)-1]
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, offset, 10)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Each byte of invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the answer stays valid JSON whatever an error message quotes.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
