package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a Supervisor. Zero fields take the defaults in their comments.
type Options struct {
	// Config is the engine to run. Required: its DataDir.
	Config Config
	// Command returns the engine process to start for the configuration file configPath: one
	// that calls Run with it and stops at the end of its standard input, such as leadhouse's own
	// `leadhouse engine -config PATH`. Required.
	Command func(configPath string) *exec.Cmd
	// ReadyTimeout bounds one start, from spawning the process to the engine answering
	// queries; default 2m (an engine loads every table's metadata before it listens).
	ReadyTimeout time.Duration
	// LockWait is how long a start waits for another engine process that still holds the data
	// directory, such as one left shutting down by a leadhouse killed with SIGKILL; default 1m.
	LockWait time.Duration
	// StopTimeout is how long Stop waits for a clean shutdown before it kills the process;
	// default 1m.
	StopTimeout time.Duration
	// RestartMin and RestartMax bound the exponential backoff, with jitter, between restarts of
	// an engine that died; defaults 500ms and 30s.
	RestartMin time.Duration
	RestartMax time.Duration
	// Logger receives starts, exits, restarts and the process's standard error. Default: discard.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Command == nil {
		return errors.New("engine supervisor: Command is required")
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	if o.LockWait == 0 {
		o.LockWait = time.Minute
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = time.Minute
	}
	if o.RestartMin == 0 {
		o.RestartMin = 500 * time.Millisecond
	}
	if o.RestartMax == 0 {
		o.RestartMax = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o.Config.setDefaults()
}

// ErrDown is what Supervisor.Err wraps while the engine is not serving.
var ErrDown = errors.New("engine is down")

// Supervisor runs an engine process and keeps it running: it starts it, waits until it answers,
// restarts it with backoff whenever it dies, and stops it on Stop. The process also ends when the
// supervisor's process dies, even by SIGKILL: its standard input is a pipe from this process,
// which the kernel closes then.
type Supervisor struct {
	opts  Options
	files Files

	mu      sync.Mutex
	proc    *process // the current engine process, nil between restarts
	err     error    // why the engine is not serving, nil while it is
	stopped bool

	stop chan struct{} // closed by Stop
	done chan struct{} // closed when the supervising goroutine has returned
}

// process is one run of the engine process.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{} // closed once cmd.Wait returned; err is then set
	err    error
	output *tail
	// started is when the process was started.
	started time.Time
}

// Start writes the engine's configuration, starts the engine process and waits until it serves,
// then supervises it until Stop. A first start that fails is an error (the library is missing,
// a port is taken, the data directory is held by another engine beyond LockWait); later deaths
// are restarted. ctx bounds the first start only.
func Start(ctx context.Context, opts Options) (*Supervisor, error) {
	s, err := newSupervisor(opts)
	if err != nil {
		return nil, err
	}
	p, err := s.launch(ctx)
	if err != nil {
		return nil, err
	}
	s.proc = p
	go s.supervise(p)
	return s, nil
}

// Launch is Start without waiting: it writes the engine's configuration and returns, and the
// engine is started, and restarted with backoff until it serves, in the background; Err reports
// ErrDown until then. Only what no retry can mend is an error here: the configuration, a missing
// engine library.
func Launch(opts Options) (*Supervisor, error) {
	s, err := newSupervisor(opts)
	if err != nil {
		return nil, err
	}
	s.err = fmt.Errorf("%w: starting", ErrDown)
	go s.supervise(nil)
	return s, nil
}

// Password is the password of User.
func (s *Supervisor) Password() string { return s.files.Password }

// HTTPAddr is host:port of the engine's HTTP interface, the address leadhouse connects to.
func (s *Supervisor) HTTPAddr() string {
	return net.JoinHostPort(connectHost(s.opts.Config.Listen), strconv.Itoa(s.opts.Config.HTTPPort))
}

// TCPAddr is host:port of the engine's native-protocol server.
func (s *Supervisor) TCPAddr() string {
	return net.JoinHostPort(connectHost(s.opts.Config.Listen), strconv.Itoa(s.opts.Config.TCPPort))
}

// PID is the engine process's id, 0 between restarts.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Err is nil while the engine serves, and otherwise says why not (wrapping ErrDown).
func (s *Supervisor) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// connectHost is the address of listen to connect to from this machine.
func connectHost(listen []string) string {
	for _, h := range listen {
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return h
		}
	}
	for _, h := range listen {
		switch ip := net.ParseIP(h); {
		case h == "localhost":
			return "127.0.0.1"
		case ip != nil && ip.IsUnspecified() && ip.To4() == nil:
			return "::1"
		case ip != nil && ip.IsUnspecified():
			return "127.0.0.1"
		}
	}
	return listen[0]
}

// Stop stops the engine cleanly (it ends at the end of its standard input), waiting up to
// StopTimeout or until ctx ends, and kills it if it has not ended by then.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.stop)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.StopTimeout)
	defer cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.mu.Lock()
		p := s.proc
		s.mu.Unlock()
		if p != nil {
			_ = p.cmd.Process.Kill()
		}
		<-s.done
		return fmt.Errorf("stop engine: killed after %v: %w", s.opts.StopTimeout, ctx.Err())
	}
	return nil
}

func newSupervisor(opts Options) (*Supervisor, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if _, err := FindLibrary(); err != nil {
		return nil, err
	}
	files, err := opts.Config.Write()
	if err != nil {
		return nil, err
	}
	return &Supervisor{opts: opts, files: files, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// supervise waits for the engine process p to end and restarts it until Stop; with p nil it
// starts it first. It owns every process it starts and waits for the last one before it returns.
func (s *Supervisor) supervise(p *process) {
	defer close(s.done)
	defer removeState(s.opts.Config.ConfigDir())
	backoff := s.opts.RestartMin
	for {
		if p != nil {
			select {
			case <-s.stop:
				s.shutdown(p)
				return
			case <-p.exited:
			}
			// An engine that served for a while is restarted quickly; one that keeps dying
			// soon after it starts, ever more slowly.
			if time.Since(p.started) > time.Minute {
				backoff = s.opts.RestartMin
			}
			s.down(fmt.Errorf("%w: process %d exited (%v)%s", ErrDown, p.cmd.Process.Pid, p.err, p.output.suffix()))
			s.opts.Logger.Error("engine process died; restarting it", "pid", p.cmd.Process.Pid, "err", p.err, "output", p.output.String())
		}
		down := time.Now()
		for first := p == nil; ; first = false {
			if !first {
				sleep := backoff/2 + rand.N(backoff/2+1)
				backoff = min(2*backoff, s.opts.RestartMax)
				t := time.NewTimer(sleep)
				select {
				case <-s.stop:
					t.Stop()
					return
				case <-t.C:
				}
			}
			np, err := s.launchUnlessStopped()
			if err == nil {
				s.mu.Lock()
				s.proc = np
				s.mu.Unlock()
				if p != nil {
					s.opts.Logger.Info("engine restarted", "pid", np.cmd.Process.Pid, "down_for", time.Since(down).Round(time.Millisecond))
				}
				p = np
				break
			}
			select {
			case <-s.stop:
				return
			default:
			}
			s.down(fmt.Errorf("%w: start failed: %w", ErrDown, err))
			s.opts.Logger.Error("cannot start the engine", "err", err, "next_attempt_within", backoff)
		}
	}
}

// launchUnlessStopped is launch, given up when Stop is called.
func (s *Supervisor) launchUnlessStopped() (*process, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return s.launch(ctx)
}

func (s *Supervisor) down(err error) {
	s.mu.Lock()
	s.err, s.proc = err, nil
	s.mu.Unlock()
}

// shutdown ends p cleanly, or kills it after StopTimeout.
func (s *Supervisor) shutdown(p *process) {
	_ = p.stdin.Close()
	t := time.NewTimer(s.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
		s.opts.Logger.Info("engine stopped", "pid", p.cmd.Process.Pid)
	case <-t.C:
		s.opts.Logger.Error("engine did not stop in time; killing it", "pid", p.cmd.Process.Pid, "timeout", s.opts.StopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// launch starts one engine process and waits until it serves. On failure the process is gone.
func (s *Supervisor) launch(ctx context.Context) (*process, error) {
	cfg := &s.opts.Config
	if err := waitUnlocked(ctx, cfg.StoreDir(), s.opts.LockWait, s.opts.Logger); err != nil {
		return nil, err
	}
	cmd := s.opts.Command(s.files.Config)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start engine: %w", err)
	}
	out := newTail(16 << 10)
	logw := &lineLogger{log: s.opts.Logger}
	cmd.Stdout = io.MultiWriter(out, logw)
	cmd.Stderr = io.MultiWriter(out, logw)
	// Its own process group: Ctrl-C in a terminal reaches leadhouse, which flushes what it holds
	// and then stops the engine, instead of stopping both at once.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start engine %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, stdin: stdin, exited: make(chan struct{}), output: out, started: time.Now()}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := s.waitReady(ctx, p); err != nil {
		_ = stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-p.exited
		}
		return nil, err
	}
	s.mu.Lock()
	s.err = nil
	s.mu.Unlock()
	if err := writeState(cfg.ConfigDir(), State{PID: cmd.Process.Pid, Supervisor: os.Getpid(), HTTP: s.HTTPAddr(), TCP: s.TCPAddr()}); err != nil {
		s.opts.Logger.Warn("cannot record the engine's address for other leadhouse commands", "err", err)
	}
	s.opts.Logger.Info("engine serving", "pid", cmd.Process.Pid, "http", s.HTTPAddr(), "native", s.TCPAddr(), "data", cfg.StoreDir())
	return p, nil
}

// waitReady polls the engine's HTTP interface until it answers a query as User.
func (s *Supervisor) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("engine process exited while starting (%v)%s", p.err, p.output.suffix())
		case <-ctx.Done():
			_ = p.cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("engine did not answer within %v (last: %v)%s", s.opts.ReadyTimeout, last, p.output.suffix())
		case <-tick.C:
		}
		if last = ping(ctx, client, s.HTTPAddr(), s.files.Password); last == nil {
			return nil
		}
	}
}

// ping runs SELECT 1 as User over the HTTP interface at addr.
func ping(ctx context.Context, client *http.Client, addr, password string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/?query=SELECT%201", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(User, password)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "1" {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// State is what a running engine's supervisor records in the engine's ConfigDir, for other
// leadhouse commands on the same data directory to find it.
type State struct {
	PID        int    `json:"pid"`
	Supervisor int    `json:"supervisor_pid"`
	HTTP       string `json:"http"`
	TCP        string `json:"native"`
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func writeState(dir string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(statePath(dir), append(b, '\n'), 0o600)
}

func removeState(dir string) { _ = os.Remove(statePath(dir)) }

// Running returns the state of the engine serving dataDir, and whether one is: its process and
// its supervisor are alive and it answers as User. An engine whose supervisor died is shutting
// down, and is not running in this sense.
func Running(ctx context.Context, dataDir string) (State, string, bool) {
	c := Config{DataDir: dataDir}
	if c.setDefaults() != nil {
		return State{}, "", false
	}
	b, err := os.ReadFile(statePath(c.ConfigDir()))
	if err != nil {
		return State{}, "", false
	}
	var st State
	if json.Unmarshal(b, &st) != nil || st.PID <= 0 || st.Supervisor <= 0 ||
		syscall.Kill(st.PID, 0) != nil || syscall.Kill(st.Supervisor, 0) != nil {
		return State{}, "", false
	}
	password, err := ReadPassword(dataDir)
	if err != nil {
		return State{}, "", false
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	if ping(ctx, client, st.HTTP, password) != nil {
		return State{}, "", false
	}
	return st, password, true
}
