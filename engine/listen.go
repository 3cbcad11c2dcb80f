package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go/proto"
)

// The engine's own servers listen on 127.0.0.1 only, on ports the engine process picks; the
// addresses clients use are the engine process's listeners, which pass each connection on:
//
//   - HTTP connections as they are: the engine answers a failed login over HTTP as it should.
//   - Native-protocol connections only once their login is known to succeed. clickhouse-local in
//     chDB 26.7 ends the whole engine process when a native-protocol login fails (a wrong
//     password, an unknown user or database: "Terminate called for uncaught exception" from its
//     TCPHandler), so anyone who can reach the port could stop the warehouse. The listener reads
//     the client's Hello, asks the engine over HTTP whether those credentials may open that
//     database, and answers a refusal itself, as the server would, with an Exception packet.
//
// Clients therefore reach the engine from 127.0.0.1, which is the address its query log shows.

// listeners are the engine process's client-facing sockets and the connections they pass on.
type listeners struct {
	http, native []net.Listener
	httpTo       string // the engine's HTTP server, 127.0.0.1:port
	httpPort     string // the clients' HTTP port
	nativeTo     string // the engine's native server
	check        *http.Client
	log          *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// listen binds every client-facing address of lc. A taken port is an error naming the setting.
func listen(lc listenConfig, httpTo, nativeTo string, log *slog.Logger) (*listeners, error) {
	l := &listeners{
		httpTo:   httpTo,
		httpPort: strconv.Itoa(lc.HTTPPort),
		nativeTo: nativeTo,
		check:    &http.Client{Timeout: 10 * time.Second},
		log:      log,
		conns:    map[net.Conn]struct{}{},
	}
	for _, host := range lc.Listen {
		for _, p := range []struct {
			port int
			into *[]net.Listener
			what string
		}{{lc.HTTPPort, &l.http, "HTTP"}, {lc.TCPPort, &l.native, "native-protocol"}} {
			addr := net.JoinHostPort(host, strconv.Itoa(p.port))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				l.close()
				return nil, fmt.Errorf("engine %s port: %w", p.what, err)
			}
			*p.into = append(*p.into, ln)
		}
	}
	return l, nil
}

// serve accepts connections until close.
func (l *listeners) serve() {
	for _, ln := range l.http {
		l.wg.Go(func() { l.accept(ln, l.forwardHTTP) })
	}
	for _, ln := range l.native {
		l.wg.Go(func() { l.accept(ln, l.forwardNative) })
	}
}

func (l *listeners) accept(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.log.Warn("engine listener stopped", "addr", ln.Addr().String(), "err", err)
			}
			return
		}
		if !l.track(c) {
			c.Close()
			return
		}
		l.wg.Go(func() {
			defer l.untrack(c)
			handle(c)
		})
	}
}

// track records an open connection, so that close can end it; false once closing.
func (l *listeners) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listeners) untrack(c net.Conn) {
	c.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

// close stops accepting, ends every open connection and waits for their goroutines.
func (l *listeners) close() {
	for _, ln := range append(append([]net.Listener(nil), l.http...), l.native...) {
		ln.Close()
	}
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.conns = nil
	l.mu.Unlock()
	l.wg.Wait()
	l.check.CloseIdleConnections()
}

func (l *listeners) forwardHTTP(c net.Conn) {
	up, err := net.DialTimeout("tcp", l.httpTo, 10*time.Second)
	if err != nil {
		return // the engine is not up (yet): the client sees the connection close
	}
	l.pipe(c, up, nil)
}

// pipe copies between a client connection and the engine's until either side ends, after
// sending the engine first (the bytes of a Hello already read from the client).
func (l *listeners) pipe(c, up net.Conn, first []byte) {
	if !l.track(up) {
		up.Close()
		return
	}
	defer l.untrack(up)
	if len(first) > 0 {
		if _, err := up.Write(first); err != nil {
			return
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, c)
		closeWrite(up)
	}()
	_, _ = io.Copy(c, up)
	closeWrite(c)
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	c.Close()
}

// maxHelloString bounds each string of a client's Hello: names, a database, a password.
const maxHelloString = 64 << 10

// hello is the part of a native-protocol client Hello the login check needs.
type hello struct {
	client   string
	revision int
	database string
	user     string
	password string
}

// readHello reads a client's Hello packet from r, returning it and its bytes as read. ch-go's
// proto.ClientHello decodes the same fields, but trusts every string length it is sent, which a
// client on the network could set to terabytes.
func readHello(r *bufio.Reader) (hello, []byte, error) {
	var raw []byte
	uvarint := func() (uint64, error) {
		var v uint64
		for shift := uint(0); shift < 64; shift += 7 {
			b, err := r.ReadByte()
			if err != nil {
				return 0, err
			}
			raw = append(raw, b)
			v |= uint64(b&0x7f) << shift
			if b < 0x80 {
				return v, nil
			}
		}
		return 0, errors.New("varint too long")
	}
	str := func() (string, error) {
		n, err := uvarint()
		if err != nil {
			return "", err
		}
		if n > maxHelloString {
			return "", fmt.Errorf("string of %d bytes in a Hello", n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		raw = append(raw, b...)
		return string(b), nil
	}
	var h hello
	code, err := uvarint()
	if err != nil {
		return h, raw, err
	}
	if code != uint64(proto.ClientCodeHello) {
		return h, raw, fmt.Errorf("first packet is %d, not a Hello", code)
	}
	if h.client, err = str(); err != nil {
		return h, raw, err
	}
	for range 2 { // major and minor version
		if _, err = uvarint(); err != nil {
			return h, raw, err
		}
	}
	rev, err := uvarint()
	if err != nil {
		return h, raw, err
	}
	h.revision = int(min(rev, 1<<31))
	for _, f := range []*string{&h.database, &h.user, &h.password} {
		if *f, err = str(); err != nil {
			return h, raw, err
		}
	}
	return h, raw, nil
}

func (l *listeners) forwardNative(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(c, 4096)
	if first, err := br.Peek(1); err == nil && first[0] >= 'A' && first[0] <= 'Z' {
		// An HTTP request (a client given the wrong port): answered as the server answers it.
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n"+
			"Port "+portOf(c.LocalAddr())+" is for clickhouse-client program.\r\nYou must use port "+l.httpPort+" for HTTP.\r\n")
		return
	}
	h, raw, err := readHello(br)
	if err != nil {
		l.refuse(c, h.revision, proto.ErrUnexpectedPacketFromClient, "expected a native-protocol Hello: "+err.Error()+" (UNEXPECTED_PACKET_FROM_CLIENT)")
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if code, msg := l.checkLogin(h); code != 0 {
		l.refuse(c, h.revision, proto.Error(code), msg)
		return
	}
	up, err := net.DialTimeout("tcp", l.nativeTo, 10*time.Second)
	if err != nil {
		l.refuse(c, h.revision, proto.ErrNetworkError, "the engine is not serving (NETWORK_ERROR)")
		return
	}
	// What bufio read past the Hello belongs to the engine too.
	rest, _ := br.Peek(br.Buffered())
	l.pipe(&prefixConn{Conn: c, r: io.MultiReader(strings.NewReader(string(rest)), c)}, up, raw)
}

func portOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(ta.Port)
	}
	return a.String()
}

// prefixConn is a connection whose first bytes were already buffered.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// checkLogin asks the engine over HTTP whether h's user and password may open h's database:
// 0 when they may, otherwise the engine's error code and message.
func (l *listeners) checkLogin(h hello) (int, string) {
	q := url.Values{"query": {"SELECT 1"}}
	if h.database != "" {
		q.Set("database", h.database)
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+l.httpTo+"/?"+q.Encode(), nil)
	if err != nil {
		return int(proto.ErrUnknownException), err.Error()
	}
	user := h.user
	if user == "" {
		user = "default"
	}
	req.Header.Set("X-ClickHouse-User", user)
	req.Header.Set("X-ClickHouse-Key", h.password)
	resp, err := l.check.Do(req)
	if err != nil {
		return int(proto.ErrNetworkError), "the engine is not serving: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode == http.StatusOK {
		return 0, ""
	}
	code, _ := strconv.Atoi(resp.Header.Get("X-ClickHouse-Exception-Code"))
	if code == 0 {
		code = int(proto.ErrAuthenticationFailed)
	}
	return code, nativeMessage(string(body))
}

// exceptionText matches how an HTTP answer spells an error: "Code: 516. DB::Exception: <message>
// (version 26.7.2.1)"; over the native protocol the message travels alone.
var exceptionText = regexp.MustCompile(`(?s)^Code: \d+\. DB::Exception: (.*?)(?:\s*\(version [^)]*\))?\s*$`)

func nativeMessage(s string) string {
	if m := exceptionText.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
		return m[1]
	}
	return strings.TrimSpace(s)
}

// refuse answers a client with an Exception packet, as the server answers a failed Hello, and
// closes the connection.
func (l *listeners) refuse(c net.Conn, revision int, code proto.Error, msg string) {
	var b proto.Buffer
	proto.ServerCodeException.Encode(&b)
	e := proto.Exception{Code: code, Name: "DB::Exception", Message: msg}
	e.EncodeAware(&b, revision)
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(b.Buf)
	if tc, ok := c.(*net.TCPConn); ok {
		// Lingering sends the packet before the close rather than resetting the connection.
		_ = tc.CloseWrite()
	}
}
