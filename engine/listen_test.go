package engine

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/ClickHouse/ch-go/proto"
)

func helloBytes(h proto.ClientHello) []byte {
	var b proto.Buffer
	h.Encode(&b)
	return b.Buf
}

func TestReadHelloReadsWhatClientsSend(t *testing.T) {
	raw := helloBytes(proto.ClientHello{Name: "clickhouse-go", Major: 2, Minor: 51, ProtocolVersion: 54460,
		Database: "leadhouse", User: "analyst", Password: "p@ss word"})
	// A client sends more right after its Hello; it stays unread.
	br := bufio.NewReader(bytes.NewReader(append(append([]byte(nil), raw...), 0x0d, 0x0e)))
	h, got, err := readHello(br)
	if err != nil {
		t.Fatal(err)
	}
	if h.client != "clickhouse-go" || h.revision != 54460 || h.database != "leadhouse" || h.user != "analyst" || h.password != "p@ss word" {
		t.Errorf("hello = %+v", h)
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("raw bytes differ from what was sent")
	}
	if br.Buffered() != 2 {
		t.Errorf("%d bytes left after the Hello, want 2", br.Buffered())
	}
}

func TestReadHelloRefusesWhatIsNotAHello(t *testing.T) {
	long := []byte{byte(proto.ClientCodeHello), 0xff, 0xff, 0xff, 0xff, 0x0f} // a 4 GiB name
	for name, in := range map[string][]byte{
		"empty":          nil,
		"query first":    {byte(proto.ClientCodeQuery), 0},
		"cut short":      helloBytes(proto.ClientHello{Name: "x", User: "u", Password: "p"})[:6],
		"huge string":    long,
		"endless varint": {byte(proto.ClientCodeHello), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	} {
		if _, _, err := readHello(bufio.NewReader(bytes.NewReader(in))); err == nil {
			t.Errorf("%s: read as a Hello", name)
		}
	}
}

func FuzzReadHello(f *testing.F) {
	f.Add(helloBytes(proto.ClientHello{Name: "clickhouse-client", Major: 26, Minor: 7, ProtocolVersion: 54477, User: "default"}))
	f.Add([]byte{0, 1, 'x'})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, raw, err := readHello(bufio.NewReader(bytes.NewReader(in)))
		if !bytes.HasPrefix(in, raw) {
			t.Fatalf("raw bytes %q are not a prefix of the input", raw)
		}
		if err != nil {
			return
		}
		// What was read is a Hello that encodes to the same bytes.
		again, _, err := readHello(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || again != h {
			t.Fatalf("re-reading the raw bytes: %+v, %v, want %+v", again, err, h)
		}
	})
}

func TestNativeMessageDropsTheHTTPWrapping(t *testing.T) {
	for in, want := range map[string]string{
		"Code: 516. DB::Exception: leadhouse: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED) (version 26.7.2.1)\n": "leadhouse: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED)",
		"Code: 81. DB::Exception: Database x does not exist. (UNKNOWN_DATABASE)":                                                          "Database x does not exist. (UNKNOWN_DATABASE)",
		"plain text": "plain text",
	} {
		if got := nativeMessage(in); got != want {
			t.Errorf("nativeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
