package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// CeilingHandler answers every request as leadhouse acknowledges a callback, 202
// with {"callback_id":...,"lead_id":0}, after reading the body and doing nothing
// else. Loading it with the same client and bodies as the real server measures
// the ceiling set by the harness, HTTP and the machine.
func CeilingHandler() http.Handler {
	var seq atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		b := make([]byte, 0, 64)
		b = append(b, `{"callback_id":"ceiling-`...)
		b = strconv.AppendUint(b, seq.Add(1), 10)
		b = append(b, `","lead_id":0}`...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(b)
	})
}

// ceilingServer is the in-process target of Options.Ceiling.
type ceilingServer struct {
	srv  *http.Server
	url  string
	done chan error
}

func startCeiling() (*ceilingServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for ceiling server: %w", err)
	}
	s := &ceilingServer{
		srv:  &http.Server{Handler: CeilingHandler(), ReadHeaderTimeout: 10 * time.Second},
		url:  "http://" + ln.Addr().String() + "/v1/callbacks",
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// close stops the server and waits for its Serve goroutine.
func (s *ceilingServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done // Serve returns http.ErrServerClosed once Shutdown or Close has begun

}
