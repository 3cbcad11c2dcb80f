package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// Run runs the engine of the configuration file at configPath (see Config.Write) in this process
// and returns when ctx ends, once the engine has shut down cleanly. libPath is libchdb.so; empty
// finds it with FindLibrary.
//
// clickhouse-local opens its native and HTTP servers on SYSTEM START LISTEN and serves them while
// a statement of its command line runs. That statement reads a pipe this process holds to its
// end; closing the pipe ends it, and with it the servers and the engine. A statement of the
// session reads the pipe rather than the process's standard input so that a signal can stop the
// engine as cleanly as the end of input. The servers listen on 127.0.0.1 only; clients connect
// to this process's listeners (listen.go), which pass their connections on.
func Run(ctx context.Context, configPath, libPath string) error {
	if libPath == "" {
		p, err := FindLibrary()
		if err != nil {
			return err
		}
		libPath = p
	}
	if !isFile(libPath) {
		return fmt.Errorf("%w: %s does not exist; run `make deps` or set LEADHOUSE_CHDB_LIB to its path", ErrLibraryMissing, libPath)
	}
	if _, err := os.Stat(configPath); err != nil {
		return fmt.Errorf("engine configuration: %w", err)
	}
	lc, err := readListenConfig(configPath)
	if err != nil {
		return err
	}
	api, err := loadAPI(libPath)
	if err != nil {
		return err
	}
	internal, err := FreeLoopbackPorts(2)
	if err != nil {
		return err
	}
	httpTo, nativeTo := "127.0.0.1:"+strconv.Itoa(internal[0]), "127.0.0.1:"+strconv.Itoa(internal[1])
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ls, err := listen(lc, httpTo, nativeTo, log)
	if err != nil {
		return err
	}
	ls.serve()
	defer ls.close()

	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("engine stop pipe: %w", err)
	}
	defer r.Close()
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		w.Close()
	}()
	// The engine opens the pipe by name: /dev/fd/N is this process's descriptor N.
	hold := "/dev/fd/" + strconv.Itoa(int(r.Fd()))
	boot := "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
		"SELECT count() FROM file(" + quoteString(hold) + ", 'LineAsString') FORMAT Null"
	err = api.cmdline("clickhouse", "--config-file="+configPath,
		"--http_port="+strconv.Itoa(internal[0]), "--tcp_port="+strconv.Itoa(internal[1]),
		"--query="+boot)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	// clickhouse-local prints a failed statement's error to standard error and returns as if
	// the command had succeeded, so an engine that ends before it is asked to has failed.
	if ctx.Err() == nil {
		return errors.New("engine stopped before it was asked to (its error is printed above)")
	}
	return nil
}

// FreeLoopbackPorts returns n TCP ports free on 127.0.0.1 at the time of the call, such as the
// engine's own servers' ports. Another process could take one before it is bound; an engine then
// fails to start, and its supervisor starts it again.
func FreeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("engine ports: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// UntilEOF returns a context that ends with parent or once r (an engine process's standard
// input, a pipe from its supervisor) reaches its end or fails: when the supervisor closes it, or
// dies, even by SIGKILL, since the kernel then closes its end.
func UntilEOF(parent context.Context, r io.Reader) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		defer cancel()
		buf := make([]byte, 512)
		for {
			if _, err := r.Read(buf); err != nil {
				if !errors.Is(err, io.EOF) {
					fmt.Fprintln(os.Stderr, "engine: standard input:", err)
				}
				return
			}
		}
	}()
	return ctx, cancel
}

// ServeChild is the body of an engine process: it runs the engine of configPath until SIGTERM or
// SIGINT arrive or, with watchStdin, its standard input ends, which is how a Supervisor stops it
// (and how it ends when the supervisor dies).
func ServeChild(configPath string, watchStdin bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if watchStdin {
		var cancel context.CancelFunc
		ctx, cancel = UntilEOF(ctx, os.Stdin)
		defer cancel()
	}
	return Run(ctx, configPath, "")
}
