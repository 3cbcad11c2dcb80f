package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// progress reports a long command's advance: a bar redrawn in place on a terminal, a log line every
// logEvery otherwise. Work is measured in units of done against total (bytes of input, rows to
// copy); items counts what the work is made of (callbacks) for the rate. total 0 means unknown:
// no percentage, no ETA. A progress is used by one goroutine.
type progress struct {
	w     io.Writer // the terminal; nil: log lines instead
	log   *slog.Logger
	what  string // e.g. "replay"
	item  string // e.g. "callbacks"
	total int64

	start, drawn time.Time
	done, items  int64
	now          func() time.Time
}

const (
	drawEvery = 200 * time.Millisecond
	logEvery  = 10 * time.Second
	barWidth  = 30
)

// newProgress reports on w when it is a terminal, else in log.
func newProgress(w io.Writer, tty bool, log *slog.Logger, what, item string, total int64) *progress {
	p := &progress{log: log, what: what, item: item, total: total, now: time.Now}
	if tty {
		p.w = w
	}
	p.start = p.now()
	p.drawn = p.start
	return p
}

// add records n more units of work done and k more items.
func (p *progress) add(n, k int64) {
	p.done += n
	p.items += k
	now := p.now()
	every := logEvery
	if p.w != nil {
		every = drawEvery
	}
	if now.Sub(p.drawn) >= every {
		p.drawn = now
		p.report(now, false)
	}
}

// finish reports the final figures and ends the bar's line.
func (p *progress) finish() { p.report(p.now(), true) }

func (p *progress) report(now time.Time, final bool) {
	elapsed := now.Sub(p.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.items) / s
	}
	var eta time.Duration
	known := p.total > 0 && p.done > 0
	if known && p.done < p.total {
		eta = time.Duration(float64(elapsed) * float64(p.total-p.done) / float64(p.done)).Round(time.Second)
	}
	if p.w == nil {
		args := []any{p.item, p.items, "rate_per_second", int64(rate), "elapsed", elapsed.Round(time.Second).String()}
		if known {
			args = append(args, "percent", int(100*p.done/p.total), "eta", eta.String())
		}
		msg := p.what + " progress"
		if final {
			msg = p.what + " finished"
		}
		p.log.Info(msg, args...)
		return
	}
	var b strings.Builder
	b.WriteString("\r")
	if known {
		frac := min(float64(p.done)/float64(p.total), 1)
		fill := int(frac * barWidth)
		b.WriteString("[" + strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill) + "]")
		fmt.Fprintf(&b, " %3.0f%%", 100*frac)
	}
	fmt.Fprintf(&b, " %d %s, %.0f/s", p.items, p.item, rate)
	if known && !final {
		fmt.Fprintf(&b, ", ETA %s", eta)
	}
	if final {
		fmt.Fprintf(&b, " in %s\n", elapsed.Round(time.Millisecond))
	} else {
		b.WriteString("   ")
	}
	io.WriteString(p.w, b.String())
}
