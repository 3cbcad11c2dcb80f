package server

import (
	"crypto/sha256"
	"net/http"
	"sync"
)

// replayKey identifies a webhook-id under the secret that signed it: ids are the sender's, and
// two senders with secrets of their own must not answer for each other's ids. It is a digest so
// that an entry's size does not depend on the id's.
type replayKey [16]byte

func newReplayKey(credential int, id string, scratch []byte) replayKey {
	b := append(scratch[:0], byte(credential>>24), byte(credential>>16), byte(credential>>8), byte(credential))
	b = append(b, id...)
	sum := sha256.Sum256(b)
	return replayKey(sum[:16])
}

// replayAnswer is the answer given to a webhook-id; status 0 while its first delivery is still
// being handled.
type replayAnswer struct {
	status int
	body   string
}

// replayCache remembers the answers given to Standard Webhooks deliveries, so that a
// re-delivery of a webhook-id is answered the same way without storing its body twice. An id is
// remembered until its timestamp leaves the tolerance, since from then on a request carrying it
// is refused anyway: with the default tolerance, about ten minutes at most (a timestamp may be
// five minutes ahead).
type replayCache struct {
	mu sync.Mutex
	m  *expiring[replayKey, replayAnswer] // expiry in Unix nanoseconds
}

func newReplayCache(maxIDs int) *replayCache {
	return &replayCache{m: newExpiring[replayKey, replayAnswer](maxIDs)}
}

// reservation is a webhook-id whose first delivery is being handled.
type reservation = *expiringEntry[replayKey, replayAnswer]

// begin looks k up at now. It returns the answer already given to it (seen), or the answer's
// status 0 while another request is still handling it, or else a reservation for this request,
// which expires at exp and which finish must settle.
func (c *replayCache) begin(k replayKey, exp, now int64) (ans replayAnswer, seen bool, res reservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ent, ok := c.m.get(k, now); ok {
		return ent.val, true, nil
	}
	return replayAnswer{}, false, c.m.put(k, replayAnswer{}, exp, now)
}

// finish settles a reservation: it records the answer to a delivery whose body was stored
// (accepted or kept as a dead letter), and forgets the id of one that was not, so that its
// re-delivery is handled afresh.
func (c *replayCache) finish(res reservation, o outcome, body []byte) {
	status := 0
	switch o {
	case outcomeAccepted:
		status = http.StatusAccepted
	case outcomeNotJSON:
		status = http.StatusBadRequest
	case outcomeNotCallback:
		status = http.StatusUnprocessableEntity
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if status == 0 {
		c.m.remove(res)
		return
	}
	// When the cache was full, res may have been dropped already; setting it then is harmless.
	res.val = replayAnswer{status: status, body: string(body)}
}

// remembered returns the number of ids the cache holds at now.
func (c *replayCache) remembered(now int64) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.expire(now)
	return c.m.len()
}
