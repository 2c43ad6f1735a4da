package localhost

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const testCRM = "https://org.crm.dynamics.com"

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	t         testing.TB
	s         *Server
	phone     *testPhone
	client    *http.Client
	base      string // https://localhost:<port>
	port      int
	dataDir   string
	tokenFile string
	logs      *syncBuffer
}

// newFixture starts a real server on 127.0.0.1 with a free port, its own
// data dir and token file, and a client that trusts only its CA.
func newFixture(t testing.TB, mods ...func(*Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	phone := newTestPhone()
	opts := Options{
		Addr:       "127.0.0.1:0",
		DataDir:    filepath.Join(dir, "data"),
		TokenFile:  filepath.Join(dir, "config", "api-token.json"),
		CRMOrigins: []string{testCRM},
		Phone:      phone,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:    "1.2.3-test",
	}
	for _, m := range mods {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{t: t, s: s, phone: phone, port: s.Port(), dataDir: opts.DataDir, tokenFile: opts.TokenFile, logs: logs}
	f.base = fmt.Sprintf("https://localhost:%d", f.port)
	f.client = f.httpClient(&tls.Config{RootCAs: s.RootCAs()})
	return f
}

// httpClient dials the server's 127.0.0.1 port whatever the URL's host,
// as a browser would after DNS rebinding.
func (f *fixture) httpClient(tc *tls.Config) *http.Client {
	addr := fmt.Sprintf("127.0.0.1:%d", f.port)
	tr := &http.Transport{
		TLSClientConfig: tc,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp4", addr)
		},
		ForceAttemptHTTP2: true,
	}
	f.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

func (r resp) errCode(t testing.TB) string {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("want a JSON error body, got %d %q", r.status, r.body)
	}
	return eb.Error.Code
}

// do sends a request; hdr values override defaults ("" deletes).
func (f *fixture) do(method, path string, body any, hdr map[string]string) resp {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// api sends an authenticated API request.
func (f *fixture) api(method, path string, body any) resp {
	f.t.Helper()
	return f.do(method, path, body, map[string]string{"Authorization": "Bearer " + f.s.token})
}

// ws opens the event WebSocket as the widget would.
func (f *fixture) ws(hdr http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{
		TLSClientConfig: &tls.Config{RootCAs: f.s.RootCAs()},
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp4", fmt.Sprintf("127.0.0.1:%d", f.port))
		},
		HandshakeTimeout: 5 * time.Second,
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	if _, ok := hdr["Origin"]; !ok {
		hdr.Set("Origin", f.base)
	}
	if _, ok := hdr["Sec-Websocket-Protocol"]; !ok {
		hdr.Set("Sec-WebSocket-Protocol", wsProtocol+", "+wsTokenPrefix+f.s.token)
	}
	return d.Dial(fmt.Sprintf("wss://localhost:%d/api/v1/events", f.port), hdr)
}

// widget is a connected event stream with a reader goroutine.
type widget struct {
	t    testing.TB
	conn *websocket.Conn
	msgs chan map[string]any
	wmu  sync.Mutex // one writer at a time on the socket
}

func (f *fixture) widget() *widget {
	f.t.Helper()
	c, res, err := f.ws(nil)
	if err != nil {
		f.t.Fatalf("websocket: %v (%v)", err, res)
	}
	w := &widget{t: f.t, conn: c, msgs: make(chan map[string]any, 1024)}
	go func() {
		defer close(w.msgs)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				w.msgs <- m
			}
		}
	}()
	f.t.Cleanup(func() { c.Close() })
	return w
}

func (w *widget) send(v any) {
	w.t.Helper()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.conn.WriteJSON(v); err != nil {
		w.t.Fatal(err)
	}
}

// next waits for the next message of one of types (any when empty).
func (w *widget) next(types ...string) map[string]any {
	w.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				w.t.Fatalf("connection closed while waiting for %v", types)
			}
			if len(types) == 0 {
				return m
			}
			for _, ty := range types {
				if m["type"] == ty {
					return m
				}
			}
		case <-timeout:
			w.t.Fatalf("no %v message within 10s", types)
		}
	}
}

func TestServerLifecycle(t *testing.T) {
	f := newFixture(t)
	if r := f.do("GET", "/healthz", nil, nil); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	// The token file is there, private, and names the server.
	st, err := os.Stat(f.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}
	var tf tokenFile
	b, _ := os.ReadFile(f.tokenFile)
	json.Unmarshal(b, &tf)
	if tf.Token != f.s.token || tf.URL != fmt.Sprintf("https://127.0.0.1:%d", f.port) {
		t.Errorf("token file = %+v", tf)
	}
	// Listening on 127.0.0.1 only.
	if a := f.s.ln.Addr().(*net.TCPAddr); !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("listening on %v", a)
	}
	w := f.widget()
	w.next("state")
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file left behind: %v", err)
	}
	// The widget is told the app is going away.
	for range w.msgs {
	}
}

func TestNewRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8777", "[::]:0", "example.com:8777", "127.0.0.1", "127.0.0.1:99999"} {
		_, err := New(Options{Addr: addr, DataDir: t.TempDir(), Phone: newTestPhone()})
		if err == nil {
			t.Errorf("New(%q) accepted", addr)
		}
	}
	if _, err := New(Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Phone: newTestPhone(), CRMOrigins: []string{"http://org.crm.dynamics.com"}}); err == nil {
		t.Error("a plain-http CRM URL was accepted")
	}
}

func TestChannelURL(t *testing.T) {
	tests := []struct {
		port int
		crm  string
		want string
		bad  bool
	}{
		{8777, "https://org.crm.dynamics.com", "https://localhost:8777/dyncrm?base=https%3A%2F%2Forg.crm.dynamics.com", false},
		{8777, "https://Org.CRM4.dynamics.com/main.aspx?appid=1", "https://localhost:8777/dyncrm?base=https%3A%2F%2Forg.crm4.dynamics.com", false},
		{9000, "https://org.crm.dynamics.com:443/", "https://localhost:9000/dyncrm?base=https%3A%2F%2Forg.crm.dynamics.com", false},
		{8777, "http://org.crm.dynamics.com", "", true},
		{8777, "org.crm.dynamics.com", "", true},
		{0, "https://org.crm.dynamics.com", "", true},
	}
	for _, tt := range tests {
		got, err := ChannelURL(tt.port, tt.crm)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ChannelURL(%d, %q) = %q, %v; want %q", tt.port, tt.crm, got, err, tt.want)
		}
	}
}
