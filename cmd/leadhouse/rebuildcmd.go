package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/rebuild"
	"github.com/leadhouse/leadhouse/server"
)

func rebuildFlags(fs *flag.FlagSet) {
	fs.Bool("state", false, "recompute only the state tables from the callback tables (after ATTACH PARTITION, EXCHANGE TABLES)")
	fs.Int("chunk", 10_000, "callbacks re-flattened and written at once")
}

// runRebuild re-flattens every kept raw body into new tables and swaps them in (package rebuild),
// on the warehouse a running serve uses or one of its own.
func runRebuild(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rebuildFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: rebuild takes no arguments after its flags", errUsage)
	}
	stateOnly := fs.Lookup("state").Value.String() == "true"
	chunk := *flagInt(fs, "chunk")
	wh, err := migratedWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	f, _ := stderr.(*os.File)
	prog := newProgress(stderr, f != nil && isTerminal(f), log, "rebuild", "callbacks", 0)
	fl := flatten.New()
	res, err := rebuild.Run(ctx, wh.store, rebuild.Options{
		Decode:    fl.Flatten,
		Reason:    server.Reason,
		ChunkRows: chunk,
		StateOnly: stateOnly,
		Logger:    log,
		Progress: func(done, total int64) {
			prog.total = total
			prog.add(done-prog.done, done-prog.items)
		},
	})
	if err != nil {
		return err
	}
	prog.finish()
	if stateOnly {
		fmt.Fprintf(stdout, "rebuilt the state tables (%s) from the callback tables\n", res.ID)
		return nil
	}
	fmt.Fprintf(stdout, "rebuilt (%s): %d callbacks re-flattened, %d carried over from the swap; rows per table: %v\n",
		res.ID, res.Callbacks, res.CarriedOn, res.Rows)
	return nil
}
