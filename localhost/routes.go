package localhost

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// routes builds the handler tree. The guard wraps everything (including
// 404s), so no response leaves without the Host check and security
// headers.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such page or API endpoint")
	})
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
	})
	r.NotFoundHandler, r.MethodNotAllowedHandler = notFound, notAllowed

	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/", s.widgetPage(false)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/dyncrm", s.widgetPage(true)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/dyncrm/", s.widgetPage(true)).Methods(http.MethodGet, http.MethodHead)
	// Private Network Access preflights for the widget page only.
	r.HandleFunc("/", s.pagePreflight).Methods(http.MethodOptions)
	r.HandleFunc("/dyncrm", s.pagePreflight).Methods(http.MethodOptions)
	r.HandleFunc("/dyncrm/login", s.loginPage).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(s.staticHandler()).Methods(http.MethodGet, http.MethodHead)

	r.HandleFunc("/api/v1/openapi.yaml", s.openAPI).Methods(http.MethodGet, http.MethodHead)
	// API routes sit on the main router (a gorilla subrouter answers a
	// method mismatch with 404 instead of 405).
	api := func(path string, h http.HandlerFunc, method string) {
		r.Handle("/api/v1"+path, s.apiHeaders(s.requireToken(h))).Methods(method)
	}
	api("/status", s.getStatus, http.MethodGet)
	api("/calls", s.listCalls, http.MethodGet)
	api("/calls", s.dial, http.MethodPost)
	api("/calls/{id}/{action:answer|decline|hangup|hold|resume}", s.callAction, http.MethodPost)
	api("/calls/{id}/mute", s.mute, http.MethodPost)
	api("/calls/{id}/dtmf", s.dtmf, http.MethodPost)
	api("/history", s.history, http.MethodGet)
	api("/settings", s.getSettings, http.MethodGet)
	api("/settings", s.patchSettings, http.MethodPatch)
	api("/audio/devices", s.audioDevices, http.MethodGet)
	api("/audio/selection", s.selectDevices, http.MethodPut)
	api("/audio/test-tone", s.testTone, http.MethodPost)
	api("/events", s.events, http.MethodGet)
	api("/crm/settings", s.getCRMSettings, http.MethodGet)
	api("/crm/settings", s.patchCRMSettings, http.MethodPatch)
	api("/crm/calls/{id}", s.crmCall, http.MethodGet)
	api("/crm/calls/{id}/{action:open|choose|add|page}", s.crmAction, http.MethodPost)
	api("/crm/calls/{id}/activity", s.saveActivity, http.MethodPut)
	api("/crm/opportunities", s.searchOpportunities, http.MethodGet)

	return s.guard(r)
}

// guard applies what every response needs. The Host check is the DNS
// rebinding defence: after rebinding, the attacker's page reaches
// 127.0.0.1 but its requests still name the attacker's host.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if !s.hostAllowed(r.Host) {
			s.log.Warn("refused request for a foreign host name (possible DNS rebinding)",
				"host", r.Host, "path", r.URL.Path)
			h.Set("Cache-Control", "no-store")
			writeError(w, http.StatusMisdirectedRequest, "bad_host",
				fmt.Sprintf("this server only answers to localhost:%d and 127.0.0.1:%d", s.port, s.port))
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// Path only: query strings are not logged.
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"dur", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController and the WebSocket upgrader reach
// the underlying connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack hands the connection to the WebSocket upgrader.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection can't be taken over")
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// requireToken refuses any API call without the session token. The token
// comes only from the Authorization header (or, for the WebSocket, the
// subprotocol list), never from a cookie or the URL.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" && r.URL.Path == "/api/v1/events" {
			tok = wsToken(r)
		}
		if !tokenEqual(tok, s.token) {
			s.log.Warn("refused API call without a valid token", "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthorized",
				"missing or wrong API token: reload the widget, or restart the command after Switchboard is running")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	w.Write(s.openapi)
}

// staticFile is one embedded widget file, compressed once at start-up.
type staticFile struct {
	body, gz []byte
	ctype    string
	etag     string
}

var contentTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// staticHandler serves /static/<hash>/<file>. Files are immutable under
// their hash; there are no directory listings.
func (s *Server) staticHandler() http.Handler {
	files := map[string]*staticFile{}
	fs.WalkDir(s.static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(s.static, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil // only known types are served
		}
		f := &staticFile{body: b, ctype: ct, etag: `"` + s.staticHash + `"`}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		if gz.Len() < len(b) {
			f.gz = gz.Bytes()
		}
		files[p] = f
		return nil
	})
	prefix := "/static/" + s.staticHash + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		f := files[name]
		if !ok || f == nil {
			writeError(w, http.StatusNotFound, "not_found", "no such file")
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("ETag", f.etag)
		h.Add("Vary", "Accept-Encoding")
		if r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := f.body
		if f.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = f.gz
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	})
}
