package server

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com, specification 1.0.0).
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
)

// webhookSecretPrefix marks a Standard Webhooks signing secret; base64 of the key follows it.
const webhookSecretPrefix = "whsec_"

// ParseWebhookSecret returns the HMAC key of a Standard Webhooks signing secret: "whsec_"
// followed by the base64 of 24 to 64 random bytes, the sizes the specification allows. The
// prefix may be left out, as some senders show the secret without it.
func ParseWebhookSecret(secret string) ([]byte, error) {
	b64 := strings.TrimPrefix(strings.TrimSpace(secret), webhookSecretPrefix)
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("webhook secret is not whsec_ followed by base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("webhook secret holds %d bytes, the specification asks for 24 to 64", len(key))
	}
	return key, nil
}

// macKey is one signing secret, with a pool of HMACs keyed with it: keying an HMAC allocates,
// resetting one does not.
type macKey struct {
	pool sync.Pool // of hash.Hash
}

func newMACKey(h func() hash.Hash, key []byte) *macKey {
	key = append([]byte(nil), key...)
	return &macKey{pool: sync.Pool{New: func() any { return hmac.New(h, key) }}}
}

// sum appends to dst the HMAC of head followed by body.
func (k *macKey) sum(dst, head, body []byte) []byte {
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(head)
	m.Write(body)
	dst = m.Sum(dst)
	k.pool.Put(m)
	return dst
}

// authError is why a request's credentials were refused: its reason for the metrics and the
// message of the 401 answer, which never quotes a credential.
type authError struct {
	reason authReason
	msg    []byte // the JSON answer
}

func newAuthError(reason authReason, msg string) *authError {
	return &authError{reason: reason, msg: appendError(nil, msg)}
}

// Refusals that need no detail, made once.
var (
	errNoToken          = &authError{reasonMissingToken, msgNoToken}
	errBadToken         = &authError{reasonInvalidToken, msgBadToken}
	errBadSignature     = newAuthError(reasonInvalidSignature, "invalid signature")
	errWebhookNoID      = newAuthError(reasonMalformedSignature, "webhook-signature without webhook-id")
	errWebhookNoTime    = newAuthError(reasonMalformedSignature, "webhook-signature without webhook-timestamp")
	errWebhookBadTime   = newAuthError(reasonMalformedSignature, "webhook-timestamp is not Unix seconds")
	errWebhookNoV1      = newAuthError(reasonMalformedSignature, "webhook-signature holds no v1 signature (v1,<base64 of 32 bytes>)")
	errWebhookIDTooLong = newAuthError(reasonMalformedSignature, "webhook-id longer than 256 bytes")
)

// maxWebhookID bounds webhook-id, which the server hashes and signs; senders use ids of about 30
// characters.
const maxWebhookID = 256

// webhookVerifier checks Standard Webhooks signatures: webhook-signature holds space-separated
// "v1,<base64>" entries, each an HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>",
// and a request is authentic when one entry matches one configured secret (several while a
// secret is rotated) and its timestamp is within the tolerance of the server's clock.
type webhookVerifier struct {
	keys      []*macKey
	tolerance int64 // seconds, either way
}

func newWebhookVerifier(secrets []string, tolerance time.Duration) (*webhookVerifier, error) {
	v := &webhookVerifier{tolerance: int64(tolerance / time.Second)}
	for i, s := range secrets {
		key, err := ParseWebhookSecret(s)
		if err != nil {
			return nil, fmt.Errorf("webhook secret %d: %w", i+1, err)
		}
		v.keys = append(v.keys, newMACKey(sha256.New, key))
	}
	return v, nil
}

// webhookRequest is what one request's Standard Webhooks headers say. They are checked before
// the body is read, so a request that cannot be authentic costs no body.
type webhookRequest struct {
	id   string
	ts   string // as sent: it is signed as sent
	unix int64
}

// present reports whether h carries any Standard Webhooks header: then the request is judged
// by them alone.
func (v *webhookVerifier) present(h http.Header) bool {
	return h[headerWebhookSignature] != nil || h[headerWebhookID] != nil || h[headerWebhookTimestamp] != nil
}

// parse reads the headers of h into req and the v1 signatures into sigs, and checks the
// timestamp against now (Unix seconds).
func (v *webhookVerifier) parse(h http.Header, now int64, req *webhookRequest, sigs [][sha256.Size]byte) ([][sha256.Size]byte, *authError) {
	sigHeader := h.Get(headerWebhookSignature)
	if sigHeader == "" {
		return sigs, newAuthError(reasonMissingSignature, "webhook-id or webhook-timestamp without webhook-signature")
	}
	req.id = h.Get(headerWebhookID)
	if req.id == "" {
		return sigs, errWebhookNoID
	}
	if len(req.id) > maxWebhookID {
		return sigs, errWebhookIDTooLong
	}
	req.ts = h.Get(headerWebhookTimestamp)
	if req.ts == "" {
		return sigs, errWebhookNoTime
	}
	unix, ok := parseUnixSeconds(req.ts)
	if !ok {
		return sigs, errWebhookBadTime
	}
	req.unix = unix
	if skew := now - unix; skew > v.tolerance || skew < -v.tolerance {
		return sigs, newAuthError(reasonTimestampOutOfTolerance, fmt.Sprintf(
			"webhook-timestamp %d is %ds from the server's clock, more than the %ds allowed", unix, skew, v.tolerance))
	}
	sigs = parseWebhookSignatures(sigHeader, sigs)
	if len(sigs) == 0 {
		return sigs, errWebhookNoV1
	}
	return sigs, nil
}

// parseUnixSeconds parses a webhook-timestamp: decimal digits only, no sign.
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseWebhookSignatures appends to sigs the v1 signatures of a webhook-signature header.
// Entries of other versions (v1a is ed25519) and v1 entries that are not base64 of 32 bytes are
// skipped: a sender may add signatures this server cannot check, and one good entry is enough.
func parseWebhookSignatures(header string, sigs [][sha256.Size]byte) [][sha256.Size]byte {
	for header != "" {
		var entry string
		entry, header, _ = strings.Cut(header, " ")
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		var d [sha256.Size]byte
		if decodeBase64(d[:], sig) {
			sigs = append(sigs, d)
		}
	}
	return sigs
}

// decodeBase64 decodes s into all of dst, accepting standard and URL-safe base64, padded or
// not: a signature is not a secret, and senders differ. The decoding is strict (no stray bits in
// the last character), so one digest has one spelling in each alphabet.
func decodeBase64(dst []byte, s string) bool {
	var src [128]byte
	var out [sha512.Size + 2]byte
	// The decoders skip line breaks; a signature has none.
	if len(dst)+2 > len(out) || len(s) > len(src) || strings.ContainsAny(s, "\r\n") {
		return false
	}
	in := append(src[:0], s...)
	for _, enc := range base64Encodings {
		if enc.DecodedLen(len(in)) > len(out) {
			continue
		}
		n, err := enc.Decode(out[:], in)
		if err == nil && n == len(dst) {
			copy(dst, out[:n])
			return true
		}
	}
	return false
}

// base64Encodings are the spellings decodeBase64 accepts.
var base64Encodings = [...]*base64.Encoding{
	base64.StdEncoding.Strict(), base64.RawStdEncoding.Strict(), base64.URLEncoding.Strict(), base64.RawURLEncoding.Strict(),
}

// verify reports the index of the secret that signed req and body, or false. head is scratch
// space for the signed prefix.
func (v *webhookVerifier) verify(req *webhookRequest, sigs [][sha256.Size]byte, body, head []byte) (int, bool) {
	head = append(head[:0], req.id...)
	head = append(head, '.')
	head = append(head, req.ts...)
	head = append(head, '.')
	var mac [sha256.Size]byte
	// Each comparison takes the same time however many bytes agree, which is what keeps a
	// guessed signature from being completed byte by byte. Stopping at the first secret that
	// matches tells only what the answer tells anyway, and spares an HMAC of the body per
	// secret left.
	for i, k := range v.keys {
		k.sum(mac[:0], head, body)
		ok := 0
		for j := range sigs {
			ok |= subtle.ConstantTimeCompare(mac[:], sigs[j][:])
		}
		if ok == 1 {
			return i, true
		}
	}
	return -1, false
}

// HMACOptions configure the generic signature header, for CRMs that sign the body with an HMAC
// in a header of their own (X-Signature: sha256=<hex>, say). Without Secrets it is off.
type HMACOptions struct {
	// Secrets are the HMAC keys, each the bytes of its string. Any one may have signed a body,
	// so a secret can be rotated without downtime.
	Secrets []string
	// Header names the header holding the signature. Default "X-Signature".
	Header string
	// Algorithm is the HMAC's hash: "sha1", "sha256", "sha384" or "sha512". Default "sha256".
	Algorithm string
	// Encoding is how the header writes the digest: "hex" (either case) or "base64" (standard
	// or URL-safe, padded or not). Default "hex".
	Encoding string
	// Prefix comes before the digest in the header, such as "sha256="; it is matched ignoring
	// case and must be present when set. Default none.
	Prefix string
}

func (o *HMACOptions) setDefaults() {
	if o.Header == "" {
		o.Header = "X-Signature"
	}
	if o.Algorithm == "" {
		o.Algorithm = "sha256"
	}
	if o.Encoding == "" {
		o.Encoding = "hex"
	}
}

// hmacHash returns the hash HMACOptions.Algorithm names.
func hmacHash(name string) (func() hash.Hash, bool) {
	switch strings.ToLower(name) {
	case "sha1":
		return sha1.New, true
	case "sha256":
		return sha256.New, true
	case "sha384":
		return sha512.New384, true
	case "sha512":
		return sha512.New, true
	}
	return nil, false
}

// hmacVerifier checks the generic signature header: the HMAC of the body alone. It has no
// timestamp, so it cannot refuse a replayed request; a replayed body is the same callback,
// which every view counts once.
type hmacVerifier struct {
	header string // canonical
	prefix string
	hex    bool
	size   int
	keys   []*macKey
}

func newHMACVerifier(o HMACOptions) (*hmacVerifier, error) {
	o.setDefaults()
	h, ok := hmacHash(o.Algorithm)
	if !ok {
		return nil, fmt.Errorf("hmac algorithm %q: expected sha1, sha256, sha384 or sha512", o.Algorithm)
	}
	v := &hmacVerifier{header: http.CanonicalHeaderKey(o.Header), prefix: o.Prefix, size: h().Size()}
	switch strings.ToLower(o.Encoding) {
	case "hex":
		v.hex = true
	case "base64":
	default:
		return nil, fmt.Errorf("hmac encoding %q: expected hex or base64", o.Encoding)
	}
	for i, s := range o.Secrets {
		if s == "" {
			return nil, fmt.Errorf("hmac secret %d is empty", i+1)
		}
		v.keys = append(v.keys, newMACKey(h, []byte(s)))
	}
	return v, nil
}

func (v *hmacVerifier) present(h http.Header) bool { return h[v.header] != nil }

// parse decodes the signature header of h into sig, which it returns resliced to the digest.
func (v *hmacVerifier) parse(h http.Header, sig []byte) ([]byte, *authError) {
	sig = sig[:v.size]
	if !decodeSignature(sig, h.Get(v.header), v.prefix, v.hex) {
		return sig, v.malformed()
	}
	return sig, nil
}

func (v *hmacVerifier) malformed() *authError {
	enc := "base64"
	if v.hex {
		enc = "hex"
	}
	return newAuthError(reasonMalformedSignature, fmt.Sprintf("%s is not %s%s of a %d-byte digest", v.header, v.prefix, enc, v.size))
}

// decodeSignature decodes a generic signature header's value into all of dst.
func decodeSignature(dst []byte, value, prefix string, isHex bool) bool {
	value = strings.TrimSpace(value)
	if len(value) < len(prefix) || !strings.EqualFold(value[:len(prefix)], prefix) {
		return false
	}
	value = value[len(prefix):]
	if !isHex {
		return decodeBase64(dst, value)
	}
	if len(value) != 2*len(dst) {
		return false
	}
	var src [2 * sha512.Size]byte
	if len(value) > len(src) {
		return false
	}
	_, err := hex.Decode(dst, append(src[:0], value...))
	return err == nil
}

// verify reports the index of the secret whose HMAC of body is sig, or false.
func (v *hmacVerifier) verify(sig, body []byte) (int, bool) {
	var buf [sha512.Size]byte
	for i, k := range v.keys {
		if subtle.ConstantTimeCompare(k.sum(buf[:0], nil, body), sig) == 1 {
			return i, true
		}
	}
	return -1, false
}
