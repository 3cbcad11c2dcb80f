package server

import (
	"errors"
	"net/http"

	"github.com/leadhouse/leadhouse/sink"
)

var (
	msgAlive    = []byte(`{"status":"alive"}`)
	msgReady    = []byte(`{"status":"ready"}`)
	msgDraining = []byte(`{"status":"draining","error":"shutting down"}`)
)

// serveHealth answers /healthz: the process is up and serving HTTP. It never consults the
// pipeline, so a store outage does not get the process restarted.
func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, msgAlive)
}

// serveReady answers /readyz: 200 when callbacks would be accepted, 503 with the reason when not,
// so a load balancer sends callbacks elsewhere while the pipeline cannot take them and while the
// server shuts down. A store that refuses writes leaves the server ready but "degraded": callbacks
// are still made durable in the write-ahead log, and taking every replica out of service for a
// store outage would turn stored callbacks into refused ones.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-s.draining:
		writeJSON(w, http.StatusServiceUnavailable, msgDraining)
		return
	default:
	}
	switch err := s.opts.Pipeline.Ready(); {
	case err == nil:
	case errors.Is(err, sink.ErrDegraded):
		writeJSON(w, http.StatusOK, appendStatus(nil, "degraded", err.Error()))
		return
	default:
		writeJSON(w, http.StatusServiceUnavailable, appendStatus(nil, "not_ready", err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, msgReady)
}

func appendStatus(b []byte, status, reason string) []byte {
	b = append(b, `{"status":`...)
	b = appendJSONString(b, status)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, reason)
	return append(b, '}')
}
