package localhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"switchboard/app"
)

// The event WebSocket (GET /api/v1/events).
//
// Every message, both ways, is one JSON object with a "type" and, for
// request/response pairs, an "id":
//
//	server → widget
//	  {"type":"state","state":{…Status…}}              first message, and again after a gap
//	  {"type":"registration"|"call"|"device"|"dtmf", "time":…, …}   app bus events as they are
//	  {"type":"settings","settings":{…}}
//	  {"type":"level","role":"mic","rms":0.1,"peak":0.3}
//	  {"type":"pong"}
//	  {"type":"error","id"?:…,"error":{"code","message"}}
//	  {"type":"<request type>","id":"r1","data":{…}}   requests the widget executes (CRM bridge: "cif.call")
//	  {"type":"crm.call","info":{…}}                   a call's CRM state (match, pop, activity)
//	  {"type":"crm.pending","count":n}                 CRM writes not yet in Dynamics
//	  {"type":"crm.settings","settings":{…}}           the CRM settings in force
//	widget → server
//	  {"type":"hello","mode":"cif"|"tab","crm":"https://org.crm.dynamics.com","lang":"en"}
//	  {"type":"cif.ready","env":{…getEnvironment…}}    the CIF library is up: this widget can run "cif.call"
//	  {"type":"cif.error","message":"…"}               the CIF library could not be loaded
//	  {"type":"active"}                  the agent is using this widget (the most recent one serves requests)
//	  {"type":"meter","on":true|false}   start/stop the live mic level
//	  {"type":"ping"}
//	  {"type":"response","id":"r1","ok":true,"data":…} or {"type":"response","id":"r1","ok":false,"error":{…}}
const (
	wsSendQueue    = 512
	wsPingEvery    = 25 * time.Second
	wsReadTimeout  = 70 * time.Second
	wsWriteTimeout = 10 * time.Second
	wsReadLimit    = 1 << 20 // CRM search results can be sizeable
	wsSubBuffer    = 256
)

// ErrNoWidget means no widget running inside Dynamics 365 is connected.
var ErrNoWidget = errors.New("no Dynamics 365 panel is connected: open Dynamics 365 with the Switchboard panel")

// ErrWidgetGone means the widget closed before it answered.
var ErrWidgetGone = errors.New("the Dynamics 365 panel closed before it answered; the request can be retried")

// WidgetError is a failure the widget reported for a request.
type WidgetError struct {
	Code    string
	Message string
}

func (e *WidgetError) Error() string { return fmt.Sprintf("widget: %s: %s", e.Code, e.Message) }

// WidgetInfo describes one connected widget.
type WidgetInfo struct {
	ID         string    `json:"id"`
	Mode       string    `json:"mode"` // cif or tab
	CRM        string    `json:"crm,omitempty"`
	Lang       string    `json:"lang,omitempty"`
	Connected  time.Time `json:"connected"`
	LastActive time.Time `json:"lastActive"`
	CIFReady   bool      `json:"cifReady,omitempty"`
}

type stateMessage struct {
	Type  string `json:"type"`
	State Status `json:"state"`
}

type levelMessage struct {
	Type string  `json:"type"`
	Role string  `json:"role"`
	RMS  float64 `json:"rms"`
	Peak float64 `json:"peak"`
}

type errorMessage struct {
	Type  string   `json:"type"`
	ID    string   `json:"id,omitempty"`
	Error APIError `json:"error"`
}

type requestMessage struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// clientMessage is anything the widget sends.
type clientMessage struct {
	Type  string          `json:"type"`
	ID    string          `json:"id,omitempty"`
	Mode  string          `json:"mode,omitempty"`
	CRM   string          `json:"crm,omitempty"`
	Lang  string          `json:"lang,omitempty"`
	On    *bool           `json:"on,omitempty"`
	OK    *bool           `json:"ok,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *APIError       `json:"error,omitempty"`
	// cif.ready and cif.error
	Env     json.RawMessage `json:"env,omitempty"`
	Message string          `json:"message,omitempty"`
}

// reservedTypes can't be used for requests to the widget.
var reservedTypes = []string{"state", "registration", "call", "device", "dtmf", "settings", "level", "pong", "error", "hello", "active", "meter", "ping", "response",
	"cif.ready", "cif.error", "crm.call", "crm.pending", "crm.settings"}

type hub struct {
	s     *Server
	seq   atomic.Uint64
	mu    sync.Mutex
	conns map[*widgetConn]struct{}
}

func newHub(s *Server) *hub { return &hub{s: s, conns: map[*widgetConn]struct{}{}} }

type widgetConn struct {
	id        string
	ws        *websocket.Conn
	send      chan []byte
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	connected time.Time

	mu         sync.Mutex
	mode, crm  string
	lang       string
	cifReady   bool // the CIF library is up in this widget
	lastActive time.Time
	pending    map[string]chan clientMessage
	meterStop  context.CancelFunc
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	// Browsers always send Origin on a WebSocket; a page elsewhere (or a
	// rebinding attack that got past the Host check) sends its own.
	if origin := r.Header.Get("Origin"); !s.ownOrigin(origin) {
		s.log.Warn("refused WebSocket from a foreign origin", "origin", origin)
		writeError(w, http.StatusForbidden, "bad_origin", "the event stream only serves Switchboard's own pages")
		return
	}
	if !offers(r, wsProtocol) {
		writeError(w, http.StatusBadRequest, "bad_protocol", "offer the "+wsProtocol+" WebSocket subprotocol")
		return
	}
	up := websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{wsProtocol},
		CheckOrigin:      func(*http.Request) bool { return true }, // checked above
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeError(w, status, "bad_websocket", reason.Error())
		},
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.hub.serve(ws)
}

func offers(r *http.Request, proto string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if strings.TrimSpace(p) == proto {
				return true
			}
		}
	}
	return false
}

func (h *hub) serve(ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	c := &widgetConn{
		id: "w" + strconv.FormatUint(h.seq.Add(1), 10),
		ws: ws, send: make(chan []byte, wsSendQueue),
		ctx: ctx, cancel: cancel, connected: now, lastActive: now,
		pending: map[string]chan clientMessage{},
	}
	// Subscribe before the snapshot so nothing falls between the two.
	sub := h.s.phone.Subscribe(wsSubBuffer)
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	h.s.log.Debug("widget connected", "widget", c.id)

	done := make(chan struct{})
	go func() {
		defer close(done)
		h.writeLoop(c, sub)
	}()
	h.readLoop(c)

	c.close(websocket.CloseNormalClosure, "")
	<-done
	sub.Close()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.s.log.Debug("widget disconnected", "widget", c.id)
}

func (c *widgetConn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.cancel()
		msg := websocket.FormatCloseMessage(code, reason)
		c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		c.ws.Close()
	})
}

// enqueue queues a message; a widget too slow to drain its queue is
// dropped (it reconnects and gets a fresh state).
func (c *widgetConn) enqueue(b []byte) bool {
	select {
	case c.send <- b:
		return true
	case <-c.ctx.Done():
		return false
	default:
		c.close(websocket.CloseTryAgainLater, "too slow")
		return false
	}
}

// offer queues a message that may be dropped (level readings).
func (c *widgetConn) offer(b []byte) {
	select {
	case c.send <- b:
	default:
	}
}

func (h *hub) stateBytes(ctx context.Context) []byte {
	b, _ := json.Marshal(stateMessage{Type: "state", State: h.s.status(ctx)})
	return b
}

func (h *hub) writeLoop(c *widgetConn, sub *app.Subscription) {
	defer c.cancel()
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	write := func(b []byte) bool {
		c.ws.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			c.close(websocket.CloseGoingAway, "")
			return false
		}
		return true
	}
	// resync sends a fresh snapshot and drops queued events older than it
	// (they are already in it) so the widget doesn't flicker back.
	resync := func() bool {
		snap := time.Now()
		st := h.stateBytes(c.ctx)
		if !write(st) {
			return false
		}
		for {
			select {
			case ev, ok := <-sub.C:
				if !ok {
					return false
				}
				if ev.Time.Before(snap) {
					continue
				}
				b, err := json.Marshal(ev)
				if err == nil && !write(b) {
					return false
				}
			default:
				return true
			}
		}
	}
	if !resync() {
		return
	}
	dropped := sub.Dropped()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if d := sub.Dropped(); d != dropped {
				dropped = d
				if !resync() {
					return
				}
				continue
			}
			b, err := json.Marshal(ev)
			if err != nil {
				h.s.log.Error("encoding event", "type", ev.Type, "err", err)
				continue
			}
			if !write(b) {
				return
			}
		case b := <-c.send:
			if !write(b) {
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout)); err != nil {
				c.close(websocket.CloseGoingAway, "")
				return
			}
		case <-c.ctx.Done():
			return
		}
	}
}

func (h *hub) readLoop(c *widgetConn) {
	c.ws.SetReadLimit(wsReadLimit)
	c.ws.SetReadDeadline(time.Now().Add(wsReadTimeout))
	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(time.Now().Add(wsReadTimeout))
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(wsReadTimeout))
		if typ != websocket.TextMessage {
			h.reply(c, "", "bad_message", "send JSON text messages")
			continue
		}
		var m clientMessage
		if err := decodeJSON(bytes.NewReader(data), &m); err != nil {
			h.reply(c, "", "bad_message", err.Error())
			continue
		}
		h.handle(c, m)
	}
}

func (h *hub) reply(c *widgetConn, id, code, msg string) {
	b, _ := json.Marshal(errorMessage{Type: "error", ID: id, Error: APIError{Code: code, Message: msg}})
	c.enqueue(b)
}

func (h *hub) handle(c *widgetConn, m clientMessage) {
	switch m.Type {
	case "hello":
		c.mu.Lock()
		c.mode = "tab"
		if m.Mode == "cif" && h.s.crmOrigin(m.CRM) {
			c.mode, c.crm = "cif", strings.ToLower(m.CRM)
		}
		if m.Lang == "en" || m.Lang == "zh-CN" {
			c.lang = m.Lang
		}
		c.lastActive = time.Now()
		c.mu.Unlock()
	case "active":
		c.mu.Lock()
		c.lastActive = time.Now()
		c.mu.Unlock()
	case "cif.ready":
		c.mu.Lock()
		cif := c.mode == "cif"
		if cif {
			c.cifReady = true
			c.lastActive = time.Now()
		}
		c.mu.Unlock()
		if !cif {
			h.reply(c, "", "not_cif", "only a widget inside Dynamics 365 can run CIF requests")
			return
		}
		h.s.log.Info("Dynamics 365 panel ready", "widget", c.id)
		if h.s.opts.CRM != nil {
			env := m.Env
			go h.s.opts.CRM.CIFReady(env)
		}
	case "cif.error":
		h.s.log.Warn("the Dynamics 365 panel could not start the CIF library", "widget", c.id, "err", clipText(m.Message, 300))
	case "ping":
		c.enqueue([]byte(`{"type":"pong"}`))
	case "meter":
		if m.On == nil {
			h.reply(c, m.ID, "bad_message", `meter needs "on"`)
			return
		}
		h.meter(c, *m.On)
	case "response":
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	default:
		h.reply(c, m.ID, "unknown_type", fmt.Sprintf("unknown message type %q", m.Type))
	}
}

// meter starts or stops this widget's live microphone level.
func (h *hub) meter(c *widgetConn, on bool) {
	c.mu.Lock()
	if !on || c.meterStop != nil {
		if !on && c.meterStop != nil {
			c.meterStop()
			c.meterStop = nil
		}
		c.mu.Unlock()
		return
	}
	ctx, stop := context.WithCancel(c.ctx)
	c.meterStop = stop
	c.mu.Unlock()
	levels, err := h.s.phone.MicLevels(ctx)
	if err != nil {
		stop()
		c.mu.Lock()
		c.meterStop = nil
		c.mu.Unlock()
		h.reply(c, "", "meter_failed", err.Error())
		return
	}
	go func() {
		for lv := range levels {
			b, _ := json.Marshal(levelMessage{Type: "level", Role: "mic", RMS: lv.RMS, Peak: lv.Peak})
			c.offer(b)
		}
	}()
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *hub) closeAll() {
	h.mu.Lock()
	conns := make([]*widgetConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "Switchboard is closing")
	}
}

// Widgets lists the connected widgets, most recently active first.
func (s *Server) Widgets() []WidgetInfo {
	s.hub.mu.Lock()
	out := make([]WidgetInfo, 0, len(s.hub.conns))
	for c := range s.hub.conns {
		c.mu.Lock()
		out = append(out, WidgetInfo{ID: c.id, Mode: c.mode, CRM: c.crm, Lang: c.lang, Connected: c.connected, LastActive: c.lastActive, CIFReady: c.cifReady})
		c.mu.Unlock()
	}
	s.hub.mu.Unlock()
	slices.SortFunc(out, func(a, b WidgetInfo) int { return b.LastActive.Compare(a.LastActive) })
	return out
}

// Request sends {"type":typ,"id":…,"data":data} to the most recently
// active widget running inside Dynamics 365 whose CIF library is up
// (it sent "cif.ready") and waits for its response.
// This is how the CRM bridge runs Microsoft.CIFramework calls in the
// agent's own Dynamics session.
func (s *Server) Request(ctx context.Context, typ string, data any) (json.RawMessage, error) {
	if typ == "" || slices.Contains(reservedTypes, typ) {
		return nil, fmt.Errorf("request type %q is reserved", typ)
	}
	var target *widgetConn
	var best time.Time
	s.hub.mu.Lock()
	for c := range s.hub.conns {
		c.mu.Lock()
		if c.mode == "cif" && c.cifReady && c.ctx.Err() == nil && (target == nil || c.lastActive.After(best)) {
			target, best = c, c.lastActive
		}
		c.mu.Unlock()
	}
	s.hub.mu.Unlock()
	if target == nil {
		return nil, ErrNoWidget
	}
	id := "r" + strconv.FormatUint(s.hub.seq.Add(1), 10)
	ch := make(chan clientMessage, 1)
	target.mu.Lock()
	target.pending[id] = ch
	target.mu.Unlock()
	defer func() {
		target.mu.Lock()
		delete(target.pending, id)
		target.mu.Unlock()
	}()
	b, err := json.Marshal(requestMessage{Type: typ, ID: id, Data: data})
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	if !target.enqueue(b) {
		return nil, ErrWidgetGone
	}
	select {
	case m := <-ch:
		if m.OK != nil && *m.OK {
			return m.Data, nil
		}
		if m.Error != nil {
			return nil, &WidgetError{Code: m.Error.Code, Message: m.Error.Message}
		}
		return nil, &WidgetError{Code: "failed", Message: "the widget reported a failure without details"}
	case <-target.ctx.Done():
		return nil, ErrWidgetGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// cifTabs counts the connected widgets whose CIF library is up.
func (s *Server) cifTabs() int {
	n := 0
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for c := range s.hub.conns {
		c.mu.Lock()
		if c.cifReady && c.ctx.Err() == nil {
			n++
		}
		c.mu.Unlock()
	}
	return n
}
