// Package cifhost is a Dynamics 365 host double for tests and the demo:
// an HTTPS server that serves a page shaped like the Unified Interface
// shell (a main area and a CIF side panel framing the widget), its own
// /webresources/Widget/msdyn_ciLibrary.js implementing the
// Microsoft.CIFramework 1.0 surface over postMessage the way the real
// library does (Map messageData, JSON-string results, searches keyed
// "0","1",…, JSON-string errors, 10 s timeouts, CIFInitDone, the
// port-dropping target origin), and an in-memory Dataverse behind a Web
// API subset. JSON endpoints under /_cif/ let tests read every record,
// see what the widget asked for, inject failures and raise host events.
//
// The real library posts to protocol//hostname with the port dropped, so
// the page must be reached on the default port under the hostname the
// widget is given. Tests listen on a free port and tell Chromium to map
// that hostname's port 443 to it (see package cifbrowser); the demo can
// listen on 443, or set KeepPort, the one documented deviation, which
// keeps the port in the library's target origin.
//
// It owns nothing of the product; it imports no other Switchboard
// package, so it cannot share a bug with the code it tests.
package cifhost

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// Options configure a Host.
type Options struct {
	// Addr is the listen address (default 127.0.0.1:0, a free port).
	Addr string
	// Hostname is the name browsers use for the host (default
	// "localhost"); the library's data-crmurl is https://Hostname.
	Hostname string
	// TLS serves HTTPS with this config; or CertFile and KeyFile.
	TLS               *tls.Config
	CertFile, KeyFile string
	// WidgetURL is the channel provider's landing URL framed in the side
	// panel; "{base}" in it is replaced by the host's URL (query-escaped).
	WidgetURL string
	// KeepPort makes the served library keep the port in its target
	// origin, for a host that cannot listen on 443 (the demo). The real
	// library drops it; tests leave this off.
	KeepPort bool
	// Dataverse backs the host; a new one (with the agent) if nil.
	Dataverse *Dataverse
	// OrgName is orgUniqueName in getEnvironment (default "switchboardtest").
	OrgName string
	// ClickToAct is the provider's initial "Enable Outbound
	// Communication" (default false: the widget must call setClickToAct).
	ClickToAct bool
	Logger     *slog.Logger
}

// LogEntry is one thing the widget asked the host (a CIF request, a
// handler registration) or the widget's answer to a host event.
type LogEntry struct {
	Time    time.Time       `json:"time"`
	Tab     string          `json:"tab"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data,omitempty"`
	Outcome string          `json:"outcome,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

// Host is a running Dynamics host double.
type Host struct {
	o   Options
	dv  *Dataverse
	log *slog.Logger
	srv *http.Server
	ln  net.Listener
	tpl *template.Template

	mu         sync.Mutex
	widgetURL  string
	entries    []LogEntry
	clickToAct bool
	subs       map[chan []byte]string // SSE subscribers → tab id
	orgID      string
}

// New prepares a host; Start serves it.
func New(o Options) (*Host, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.OrgName == "" {
		o.OrgName = "switchboardtest"
	}
	if o.TLS == nil && (o.CertFile == "" || o.KeyFile == "") {
		return nil, errors.New("cifhost: give Options.TLS or CertFile and KeyFile (CIF needs HTTPS)")
	}
	if o.TLS == nil {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cifhost: loading the certificate: %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dv := o.Dataverse
	if dv == nil {
		dv = NewDataverse(DataverseOptions{})
	}
	tpl, err := template.ParseFS(static, "static/shell.html")
	if err != nil {
		return nil, err
	}
	return &Host{o: o, dv: dv, log: log.With("room", "cifhost"), tpl: tpl, widgetURL: o.WidgetURL,
		clickToAct: o.ClickToAct, subs: map[chan []byte]string{}, orgID: NewGUID()}, nil
}

// Start listens and serves in the background.
func (h *Host) Start() error {
	ln, err := net.Listen("tcp", h.o.Addr)
	if err != nil {
		return fmt.Errorf("cifhost: %w", err)
	}
	h.ln = ln
	cfg := h.o.TLS.Clone()
	h.srv = &http.Server{Handler: h.Handler(), TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelDebug)}
	go func() {
		if err := h.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("host double stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the server and ends the pages' event streams.
func (h *Host) Close() error {
	h.mu.Lock()
	for c := range h.subs {
		close(c)
		delete(h.subs, c)
	}
	h.mu.Unlock()
	if h.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}

// Addr is the address the host listens on.
func (h *Host) Addr() string { return h.ln.Addr().String() }

// Port is the port the host listens on.
func (h *Host) Port() int { return h.ln.Addr().(*net.TCPAddr).Port }

// URL is the organisation URL as the browser and the widget see it:
// https://Hostname, plus the port when KeepPort is set and the host does
// not listen on 443.
func (h *Host) URL() string {
	if h.o.KeepPort && h.ln != nil && h.Port() != 443 {
		return "https://" + net.JoinHostPort(h.o.Hostname, strconv.Itoa(h.Port()))
	}
	return "https://" + h.o.Hostname
}

// Dataverse is the host's data.
func (h *Host) Dataverse() *Dataverse { return h.dv }

// SetWidgetURL changes the landing URL framed by pages loaded from now on.
func (h *Host) SetWidgetURL(u string) {
	h.mu.Lock()
	h.widgetURL = u
	h.mu.Unlock()
}

func (h *Host) landing() string {
	h.mu.Lock()
	u := h.widgetURL
	h.mu.Unlock()
	return strings.ReplaceAll(u, "{base}", url.QueryEscape(h.URL()))
}

// Log returns what the widgets asked for so far.
func (h *Host) Log() []LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.entries)
}

// Requests returns the log entries of one message type.
func (h *Host) Requests(typ string) []LogEntry {
	var out []LogEntry
	for _, e := range h.Log() {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// Tabs is the number of shell pages connected to the host.
func (h *Host) Tabs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Raise asks every open page to raise a host event to its widget (e.g.
// "onclicktoact" with {"value":"…","name":"mobilephone",…}).
func (h *Host) Raise(name string, payload any) {
	h.push(map[string]any{"raise": map[string]any{"name": name, "payload": payload}})
}

// Navigate asks every open page to open a record.
func (h *Host) Navigate(entity, id string) {
	h.push(map[string]any{"navigate": map[string]string{"etn": entity, "id": id}})
}

func (h *Host) push(cmd any) {
	b, _ := json.Marshal(cmd)
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		select {
		case c <- b:
		default:
		}
	}
}

// Handler serves the host.
func (h *Host) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.shell)
	mux.HandleFunc("GET /main.aspx", h.shell)
	mux.HandleFunc("GET /webresources/Widget/msdyn_ciLibrary.js", h.library)
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("/api/data/v9.2/", h.webAPI)
	mux.HandleFunc("GET /_cif/meta", h.meta)
	mux.HandleFunc("GET /_cif/state", h.state)
	mux.HandleFunc("GET /_cif/records", h.records)
	mux.HandleFunc("GET /_cif/log", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, h.Log()) })
	mux.HandleFunc("POST /_cif/log", h.postLog)
	mux.HandleFunc("POST /_cif/faults", h.postFault)
	mux.HandleFunc("DELETE /_cif/faults", func(w http.ResponseWriter, r *http.Request) { h.dv.ClearFaults(); w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /_cif/raise", h.postRaise)
	mux.HandleFunc("GET /_cif/search", h.search)
	mux.HandleFunc("GET /_cif/events", h.events)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a small JSON body; requiring the content type keeps
// cross-site form posts out.
func readJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errors.New("send application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	return dec.Decode(v)
}

type shellConfig struct {
	Base       string `json:"base"`
	WidgetURL  string `json:"widgetUrl"`
	Org        string `json:"org"`
	OrgID      string `json:"orgId"`
	UserID     string `json:"userId"`
	UserName   string `json:"userName"`
	ClickToAct bool   `json:"clickToAct"`
	AppID      string `json:"appId"`
}

func (h *Host) shell(w http.ResponseWriter, r *http.Request) {
	user, _ := h.dv.Record("systemuser", h.dv.UserID())
	name, _ := user["fullname"].(string)
	h.mu.Lock()
	c2a := h.clickToAct
	h.mu.Unlock()
	cfg, _ := json.Marshal(shellConfig{Base: h.URL(), WidgetURL: h.landing(), Org: h.o.OrgName, OrgID: h.orgID,
		UserID: h.dv.UserID(), UserName: name, ClickToAct: c2a, AppID: SampleID("app", "saleshub")})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.tpl.Execute(w, map[string]string{"Config": string(cfg)}); err != nil {
		h.log.Error("rendering the shell", "err", err)
	}
}

func (h *Host) library(w http.ResponseWriter, r *http.Request) {
	b, err := static.ReadFile("static/msdyn_ciLibrary.js")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if h.o.KeepPort {
		b = []byte(strings.Replace(string(b), "var KEEP_PORT = false;", "var KEEP_PORT = true;", 1))
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

type entityMeta struct {
	Entity  string   `json:"entity"`
	Set     string   `json:"set"`
	ID      string   `json:"id"`
	Primary string   `json:"primary"`
	Phones  []string `json:"phones,omitempty"`
}

func (h *Host) meta(w http.ResponseWriter, r *http.Request) {
	h.dv.mu.Lock()
	var out []entityMeta
	for _, t := range h.dv.tables {
		m := entityMeta{Entity: t.name, Set: t.set, ID: t.id, Primary: t.primary}
		for c, a := range t.attrs {
			if a.kind == aString && a.max == 50 && (strings.HasPrefix(c, "telephone") || c == "mobilephone") {
				m.Phones = append(m.Phones, c)
			}
		}
		slices.Sort(m.Phones)
		out = append(out, m)
	}
	h.dv.mu.Unlock()
	slices.SortFunc(out, func(a, b entityMeta) int { return strings.Compare(a.Entity, b.Entity) })
	writeJSON(w, http.StatusOK, out)
}

func (h *Host) state(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"clickToAct": h.clickToAct, "tabs": len(h.subs), "widgetUrl": h.widgetURL})
}

func (h *Host) records(w http.ResponseWriter, r *http.Request) {
	if e := r.URL.Query().Get("entity"); e != "" {
		writeJSON(w, http.StatusOK, h.dv.Records(e))
		return
	}
	all := map[string]any{}
	for _, e := range h.dv.Entities() {
		all[e] = h.dv.Records(e)
	}
	writeJSON(w, http.StatusOK, all)
}

func (h *Host) postLog(w http.ResponseWriter, r *http.Request) {
	var e LogEntry
	if err := readJSON(r, &e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.Time = time.Now()
	h.mu.Lock()
	if e.Type == "setclicktoact" && e.Outcome == "success" {
		// The real host persists it on the provider record.
		var d struct {
			Value bool `json:"value"`
		}
		if json.Unmarshal(e.Data, &d) == nil {
			h.clickToAct = d.Value
		}
	}
	if len(h.entries) < 100000 {
		h.entries = append(h.entries, e)
	}
	h.mu.Unlock()
	h.log.Debug("widget request", "tab", e.Tab, "type", e.Type, "outcome", e.Outcome)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Host) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := readJSON(r, &f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.dv.Inject(f)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Host) postRaise(w http.ResponseWriter, r *http.Request) {
	var v struct {
		Name    string `json:"name"`
		Payload any    `json:"payload"`
	}
	if err := readJSON(r, &v); err != nil || v.Name == "" {
		http.Error(w, "give {name, payload}", http.StatusBadRequest)
		return
	}
	h.Raise(v.Name, v.Payload)
	w.WriteHeader(http.StatusNoContent)
}

// events streams host commands to a shell page (Server-Sent Events).
func (h *Host) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan []byte, 16)
	h.mu.Lock()
	h.subs[c] = r.URL.Query().Get("tab")
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if _, ok := h.subs[c]; ok {
			delete(h.subs, c)
			close(c)
		}
		h.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case b, ok := <-c:
			if !ok {
				return
			}
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		}
	}
}

// search is the relevance search behind renderSearchPage: the text in
// any string column, or its digits in a phone column.
func (h *Host) search(w http.ResponseWriter, r *http.Request) {
	entity, q := r.URL.Query().Get("entity"), strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q)
	var out []map[string]any
	for _, rec := range h.dv.Records(entity) {
		hit := q == ""
		for k, v := range rec {
			s, ok := v.(string)
			if !ok || hit || strings.HasPrefix(k, "_") || strings.HasPrefix(k, "@") || k == "documentbody" {
				continue
			}
			if strings.Contains(strings.ToLower(s), q) {
				hit = true
			}
			if len(digits) >= 4 && (strings.HasPrefix(k, "telephone") || k == "mobilephone") {
				sd := strings.Map(func(r rune) rune {
					if r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, s)
				if strings.Contains(sd, digits) || strings.Contains(digits, sd) && len(sd) >= 7 {
					hit = true
				}
			}
		}
		if hit {
			delete(rec, "phonecall_activity_parties")
			delete(rec, "documentbody")
			out = append(out, rec)
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// webAPI serves /api/data/v9.2/<set>[(<id>)] for GET, POST, PATCH and
// DELETE, like the Dataverse Web API that Xrm.WebApi calls.
func (h *Host) webAPI(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/data/v9.2/")
	set, id := path, ""
	if i := strings.IndexByte(path, '('); i >= 0 && strings.HasSuffix(path, ")") {
		set, id = path[:i], path[i+1:len(path)-1]
	}
	entity, ok := h.dv.EntityForSet(set)
	if !ok {
		writeErr(w, &Error{Status: http.StatusNotFound, Code: codeBadProperty, Message: fmt.Sprintf("Resource not found for the segment '%s'.", set)})
		return
	}
	var op string
	switch {
	case r.Method == http.MethodGet && id == "":
		op = "query"
	case r.Method == http.MethodGet:
		op = "retrieve"
	case r.Method == http.MethodPost && id == "":
		op = "create"
	case r.Method == http.MethodPatch && id != "":
		op = "update"
	case r.Method == http.MethodDelete && id != "":
		op = "delete"
	default:
		writeErr(w, &Error{Status: http.StatusMethodNotAllowed, Code: codeBadProperty, Message: "The HTTP method is not allowed here."})
		return
	}
	var body map[string]any
	if op == "create" || op == "update" {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			writeErr(w, errBad(codeBadProperty, "The request body could not be read."))
			return
		}
		var e *Error
		if body, e = DecodeBody(b); e != nil {
			writeErr(w, e)
			return
		}
	}
	f := h.dv.TakeFault(op, entity)
	if f != nil && !f.AfterApply {
		if !sleepCtx(r.Context(), f.Delay) {
			return
		}
		if f.Status != 0 || f.Delay == 0 {
			writeErr(w, FaultError(f))
			return
		}
	}
	base := h.URL() + "/api/data/v9.2/"
	status, hdr, out, e := h.apply(op, entity, set, id, r.URL.RawQuery, body, base)
	if f != nil && f.AfterApply {
		if !sleepCtx(r.Context(), f.Delay) {
			return
		}
		writeErr(w, FaultError(f))
		return
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

func (h *Host) apply(op, entity, set, id, rawQuery string, body map[string]any, base string) (int, map[string]string, any, *Error) {
	switch op {
	case "query":
		rows, e := h.dv.Query(entity, rawQuery)
		if e != nil {
			return 0, nil, nil, e
		}
		return http.StatusOK, nil, map[string]any{"@odata.context": base + "$metadata#" + set, "value": rows}, nil
	case "retrieve":
		rec, e := h.dv.Retrieve(entity, id, rawQuery)
		if e != nil {
			return 0, nil, nil, e
		}
		rec["@odata.context"] = base + "$metadata#" + set + "/$entity"
		return http.StatusOK, nil, rec, nil
	case "create":
		nid, e := h.dv.Create(entity, body)
		if e != nil {
			return 0, nil, nil, e
		}
		return http.StatusNoContent, map[string]string{"OData-EntityId": base + set + "(" + nid + ")", "OData-Version": "4.0"}, nil, nil
	case "update":
		if e := h.dv.Update(entity, id, body); e != nil {
			return 0, nil, nil, e
		}
		return http.StatusNoContent, map[string]string{"OData-EntityId": base + set + "(" + strings.ToLower(id) + ")"}, nil, nil
	case "delete":
		if e := h.dv.Delete(entity, id); e != nil {
			return 0, nil, nil, e
		}
		return http.StatusNoContent, nil, nil, nil
	}
	return 0, nil, nil, errBad(codeBadProperty, "unsupported")
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func writeErr(w http.ResponseWriter, e *Error) {
	st := e.Status
	if st == 0 {
		st = http.StatusBadRequest
	}
	writeJSON(w, st, map[string]any{"error": e})
}
