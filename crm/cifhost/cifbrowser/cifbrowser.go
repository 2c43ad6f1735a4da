// Package cifbrowser runs the Dynamics host double in headless Chromium
// for end-to-end tests: Launch starts the browser with the host's
// hostname mapped to its free port (the real CIF library posts to the
// default port, see package cifhost) and the test certificate trusted,
// and WidgetServer is a minimal widget, over HTTPS on localhost, that
// loads cif-bridge.js and relays crm.Bridge requests over a WebSocket, as
// the product's widget does. It is test tooling; the product does not
// import it.
package cifbrowser

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"switchboard/crm"
	"switchboard/crm/bridge"
	"switchboard/crm/cifhost"
)

// Options configure Launch.
type Options struct {
	// HostRules map host names to listeners ("MAP crm.test 127.0.0.1:41234").
	HostRules []string
	// SPKI lists certificate key hashes Chromium accepts without a
	// trusted CA (cifhost.TestCert.SPKI).
	SPKI []string
	// Console, if set, receives the pages' console messages and errors.
	Console func(string)
}

// ChromiumPath finds the Chromium binary ($CHROMIUM, then the Debian
// package's path and the usual names).
func ChromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, n := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: install the Debian package chromium or set $CHROMIUM")
}

// MapHost is the host rule that sends hostname's HTTPS port to h.
func MapHost(hostname string, h *cifhost.Host) string {
	return "MAP " + hostname + " " + net.JoinHostPort("127.0.0.1", strconv.Itoa(h.Port()))
}

// Launch starts headless Chromium with a fresh profile. The returned
// context drives its first tab; cancel stops the browser and removes the
// profile.
func Launch(ctx context.Context, o Options) (context.Context, context.CancelFunc, error) {
	path, err := ChromiumPath()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "cifbrowser-")
	if err != nil {
		return nil, nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1400, 900),
	}
	if len(o.HostRules) > 0 {
		opts = append(opts, chromedp.Flag("host-rules", strings.Join(o.HostRules, ",")))
	}
	if len(o.SPKI) > 0 {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(o.SPKI, ",")))
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	cancel := func() {
		bcancel()
		acancel()
		_ = os.RemoveAll(dir)
	}
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting chromium: %w", err)
	}
	if o.Console != nil {
		Listen(bctx, o.Console)
	}
	return bctx, cancel, nil
}

// Listen sends a tab's console output and uncaught errors to f until
// ctx ends.
func Listen(ctx context.Context, f func(string)) {
	console := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for e, err := range console {
			if err != nil {
				return
			}
			var parts []string
			for _, a := range e.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			f("console." + string(e.Type) + ": " + strings.Join(parts, " "))
		}
	}()
	go func() {
		for e, err := range exceptions {
			if err != nil {
				return
			}
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			f(fmt.Sprintf("exception: %s (%s:%d)", msg, d.URL, d.LineNumber))
		}
	}()
}

// Event is something the widget reported (cif-bridge.js's send).
type Event struct {
	Type     string          `json:"type"`
	Env      json.RawMessage `json:"env,omitempty"`
	Number   string          `json:"number,omitempty"`
	Field    string          `json:"field,omitempty"`
	Entity   string          `json:"entity,omitempty"`
	EntityID string          `json:"entityId,omitempty"`
	URL      string          `json:"url,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	Message  string          `json:"message,omitempty"`
	Conn     int             `json:"-"`
}

type conn struct {
	id      int
	ws      *websocket.Conn
	wmu     sync.Mutex
	ready   bool
	waiting map[int64]chan reply
	active  time.Time
}

type reply struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// WidgetServer is a minimal widget: /widget?base=<org URL> loads
// cif-bridge.js, starts it, and relays requests and events over /ws. It
// implements crm.Bridge; the most recently active ready tab runs each
// request.
type WidgetServer struct {
	srv *httptest.Server
	up  websocket.Upgrader

	mu        sync.Mutex
	conns     map[int]*conn
	next      int
	seq       int64
	events    []Event
	agent     string
	onReady   func()
	onEvent   func(Event)
	reports   []json.RawMessage
	closed    bool
	extraPage map[string]string
}

// NewWidgetServer serves the widget over HTTPS with cfg on a free
// localhost port.
func NewWidgetServer(cfg *tls.Config) *WidgetServer {
	w := &WidgetServer{conns: map[int]*conn{}, extraPage: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = rw.Write([]byte(widgetPage))
	})
	mux.HandleFunc("GET /cif-bridge.js", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = rw.Write(bridge.JS)
	})
	mux.HandleFunc("GET /page/{name}", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		p, ok := w.extraPage[r.PathValue("name")]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = rw.Write([]byte(p))
	})
	mux.HandleFunc("POST /report", func(rw http.ResponseWriter, r *http.Request) {
		var v json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<20)).Decode(&v); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.reports = append(w.reports, v)
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /ws", w.serveWS)
	w.srv = httptest.NewUnstartedServer(mux)
	w.srv.TLS = cfg.Clone()
	w.srv.StartTLS()
	w.up = websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == w.URL() }}
	return w
}

// URL is the widget's origin (https://localhost:<port>).
func (w *WidgetServer) URL() string {
	return "https://localhost:" + strconv.Itoa(w.srv.Listener.Addr().(*net.TCPAddr).Port)
}

// LandingURL is the channel URL to give the host ("{base}" is filled in
// by the host with its own URL).
func (w *WidgetServer) LandingURL() string { return w.URL() + "/widget?base={base}" }

// AddPage serves html at /page/<name> (for tests of the library alone).
func (w *WidgetServer) AddPage(name, html string) string {
	w.mu.Lock()
	w.extraPage[name] = html
	w.mu.Unlock()
	return w.URL() + "/page/" + name
}

// Reports returns what pages POSTed to /report.
func (w *WidgetServer) Reports() []json.RawMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reports)
}

// OnReady is called (in its own goroutine) whenever a tab becomes ready:
// the place to Kick the engine.
func (w *WidgetServer) OnReady(f func()) {
	w.mu.Lock()
	w.onReady = f
	w.mu.Unlock()
}

// OnEvent sees every widget event.
func (w *WidgetServer) OnEvent(f func(Event)) {
	w.mu.Lock()
	w.onEvent = f
	w.mu.Unlock()
}

// Close ends every connection and stops the server.
func (w *WidgetServer) Close() {
	w.mu.Lock()
	w.closed = true
	for _, c := range w.conns {
		_ = c.ws.Close()
	}
	w.mu.Unlock()
	w.srv.Close()
}

// Events returns the widget events so far.
func (w *WidgetServer) Events() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// AgentID is the systemuser id the last ready tab reported.
func (w *WidgetServer) AgentID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.agent
}

// ReadyTabs counts connected tabs whose CIF is initialised.
func (w *WidgetServer) ReadyTabs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.conns {
		if c.ready {
			n++
		}
	}
	return n
}

func (w *WidgetServer) serveWS(rw http.ResponseWriter, r *http.Request) {
	ws, err := w.up.Upgrade(rw, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(64 << 20)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		_ = ws.Close()
		return
	}
	w.next++
	c := &conn{id: w.next, ws: ws, waiting: map[int64]chan reply{}, active: time.Now()}
	w.conns[c.id] = c
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.conns, c.id)
		for _, ch := range c.waiting {
			close(ch)
		}
		c.waiting = map[int64]chan reply{}
		w.mu.Unlock()
		_ = ws.Close()
	}()
	for {
		var m struct {
			Event    *Event `json:"event"`
			Response *struct {
				ID int64 `json:"id"`
				reply
			} `json:"response"`
		}
		if err := ws.ReadJSON(&m); err != nil {
			return
		}
		switch {
		case m.Event != nil:
			ev := *m.Event
			ev.Conn = c.id
			w.mu.Lock()
			w.events = append(w.events, ev)
			c.active = time.Now()
			var ready func()
			if ev.Type == "ready" {
				c.ready = true
				var env crm.Environment
				if e, err := crm.ParseEnvironment(ev.Env); err == nil {
					env = e
					w.agent = env.UserID
				}
				ready = w.onReady
			}
			onEvent := w.onEvent
			w.mu.Unlock()
			if ready != nil {
				go ready()
			}
			if onEvent != nil {
				onEvent(ev)
			}
		case m.Response != nil:
			w.mu.Lock()
			ch, ok := c.waiting[m.Response.ID]
			delete(c.waiting, m.Response.ID)
			w.mu.Unlock()
			if ok {
				ch <- m.Response.reply
			}
		}
	}
}

// pick is the most recently active ready tab.
func (w *WidgetServer) pick() *conn {
	var best *conn
	for _, c := range w.conns {
		if c.ready && (best == nil || c.active.After(best.active)) {
			best = c
		}
	}
	return best
}

// Do runs a request in the most recently active ready tab.
func (w *WidgetServer) Do(ctx context.Context, req crm.Request) (crm.Response, error) {
	w.mu.Lock()
	c := w.pick()
	if c == nil {
		w.mu.Unlock()
		return crm.Response{}, crm.ErrNotConnected
	}
	w.seq++
	id := w.seq
	ch := make(chan reply, 1)
	c.waiting[id] = ch
	w.mu.Unlock()
	msg := struct {
		ID int64 `json:"id"`
		crm.Request
	}{id, req}
	c.wmu.Lock()
	err := c.ws.WriteJSON(msg)
	c.wmu.Unlock()
	if err != nil {
		w.mu.Lock()
		delete(c.waiting, id)
		w.mu.Unlock()
		return crm.Response{}, fmt.Errorf("sending to the Dynamics tab: %w", crm.ErrNotConnected)
	}
	select {
	case <-ctx.Done():
		w.mu.Lock()
		delete(c.waiting, id)
		w.mu.Unlock()
		return crm.Response{}, ctx.Err()
	case r, ok := <-ch:
		if !ok {
			return crm.Response{}, errors.New("the Dynamics tab closed before answering")
		}
		if !r.OK {
			return crm.Response{}, crm.BridgeError(r.Error)
		}
		return crm.Response{Result: r.Result}, nil
	}
}

const widgetPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test widget</title></head>
<body>
<div id="status">loading</div>
<script src="/cif-bridge.js"></script>
<script>
(function () {
  var base = new URLSearchParams(location.search).get("base");
  var out = [];
  var ws = new WebSocket("wss://" + location.host + "/ws");
  window.widgetEvents = [];
  function push(obj) {
    if (ws.readyState === 1) { ws.send(JSON.stringify(obj)); } else { out.push(obj); }
  }
  ws.onopen = function () { out.splice(0).forEach(function (o) { ws.send(JSON.stringify(o)); }); };
  ws.onmessage = function (m) {
    var req = JSON.parse(m.data);
    SwitchboardCIF.handle(req).then(function (res) { push({ response: res }); });
  };
  SwitchboardCIF.start(base, function (ev) {
    window.widgetEvents.push(ev);
    push({ event: ev });
    if (ev.type === "ready") { document.getElementById("status").textContent = "ready"; }
    if (ev.type === "error") { document.getElementById("status").textContent = "error: " + ev.message; }
  }).catch(function () {});
})();
</script>
</body></html>`
