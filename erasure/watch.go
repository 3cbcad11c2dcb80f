package erasure

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Watch applies the requests a forget records while a serve runs: every interval it looks at the
// tombstones file and, when it grew past applied requests, loads the set, calls apply with it
// (the pipeline's SetFilter, which returns once what it batched before is stored) and records
// the new count with MarkApplied, which is what forget waits for. It returns when ctx ends. A
// failure is logged and tried again at the next look.
func (s *Store) Watch(ctx context.Context, interval time.Duration, applied int, apply func(context.Context, *Set) error, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var seen fs.FileInfo
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		fi, err := os.Stat(filepath.Join(s.dir, tombstonesFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			log.Error("cannot look for erasure requests", "err", err)
			continue
		}
		if seen != nil && fi.Size() == seen.Size() && fi.ModTime().Equal(seen.ModTime()) {
			continue
		}
		set, n, err := s.Load()
		if err != nil {
			log.Error("cannot read erasure requests", "err", err)
			continue
		}
		if n > applied {
			if err := apply(ctx, set); err != nil {
				if ctx.Err() == nil {
					log.Error("cannot apply erasure requests", "requests", n, "err", err)
				}
				continue
			}
			if err := s.MarkApplied(n); err != nil {
				log.Error("cannot record applied erasure requests", "err", err)
				continue
			}
			log.Info("erasure requests applied: their records are left out", "requests", n, "leads_and_phones", set.Len())
			applied = n
		}
		seen = fi
	}
}
