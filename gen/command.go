package gen

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Command is `leadhouse gen`: it writes payloads as NDJSON (one compact payload per
// line) for replay by loadgen or curl. A CLI fills it with RegisterFlags and calls Run.
type Command struct {
	Options
	// Count is how many payloads to write (default 1000).
	Count int
	// Output is the file to write; empty or "-" means the writer given to Run.
	Output string
}

// RegisterFlags binds c's fields to flags on fs, with the defaults documented on
// Options. The subcommand is then:
//
//	var c gen.Command
//	fs := flag.NewFlagSet("gen", flag.ExitOnError)
//	c.RegisterFlags(fs)
//	_ = fs.Parse(args)
//	return c.Run(ctx, os.Stdout)
func (c *Command) RegisterFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.Seed, "seed", 0, "payload sequence seed; the same flags always give the same bytes")
	fs.IntVar(&c.Leads, "leads", defaultLeads, "number of distinct leads the callbacks are about")
	fs.Int64Var(&c.FirstLeadID, "first-lead-id", defaultFirstID, "smallest lead id")
	fs.Int64Var(&c.Start, "start", defaultStart, "epoch second of the first callback")
	fs.IntVar(&c.MaxBytes, "max-bytes", defaultMaxBytes, "largest payload in bytes (128 KiB to 200 KiB)")
	fs.IntVar(&c.Count, "n", 1000, "number of payloads to write")
	fs.StringVar(&c.Output, "o", "-", `output file ("-" for stdout)`)
}

// Run writes c.Count payloads to c.Output, or to stdout when Output is "-" or empty.
func (c *Command) Run(ctx context.Context, stdout io.Writer) (err error) {
	if c.Count < 0 {
		return fmt.Errorf("payload count %d is negative", c.Count)
	}
	n := c.Count
	if n == 0 {
		n = 1000
	}
	out := stdout
	if c.Output != "" && c.Output != "-" {
		f, err := os.Create(c.Output)
		if err != nil {
			return fmt.Errorf("create payload file: %w", err)
		}
		defer func() {
			if cerr := f.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close payload file: %w", cerr))
			}
		}()
		out = f
	}
	g := New(c.Options)
	bw := bufio.NewWriterSize(out, 1<<20)
	buf := make([]byte, 0, 64<<10)
	for i := range n {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("write payloads: %w", err)
			}
		}
		buf = append(g.Next(buf[:0]), '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write payload %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("flush payloads: %w", err)
	}
	return nil
}
