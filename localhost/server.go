package localhost

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"switchboard/assets"
	"switchboard/internal/atomicfile"
)

// DefaultPort is where the widget lives unless [server] port says otherwise.
const DefaultPort = 8777

// Options configure a Server.
type Options struct {
	// Addr is where to listen: "127.0.0.1:<port>" (or "localhost:<port>").
	// Port 0 picks a free port (tests). Any other host is refused: the
	// server must never be reachable from the network.
	Addr string
	// DataDir holds certs/ (the local CA and the localhost certificate).
	DataDir string
	// TokenFile is where the session token is written (0600) for the
	// command-line client. Empty: no file (the CLI then can't connect).
	TokenFile string
	// CRMOrigins are the Dynamics 365 URLs allowed to frame the widget and
	// to be named in ?base= (e.g. https://org.crm.dynamics.com).
	CRMOrigins []string
	Phone      Phone
	// CRM is the Dynamics 365 integration; nil leaves the /api/v1/crm
	// endpoints answering 404.
	CRM     CRM
	Logger  *slog.Logger
	Version string
	// MaxBodyBytes caps JSON request bodies (default 64 KiB).
	MaxBodyBytes int64
}

// Server is the local HTTPS server: widget, API and event WebSocket.
type Server struct {
	opts    Options
	log     *slog.Logger
	phone   Phone
	origins []string
	token   string
	certs   *certManager
	hub     *hub

	tmpl       *template.Template
	static     fs.FS
	staticHash string
	modules    []string
	openapi    []byte
	handler    http.Handler

	mu        sync.Mutex
	ln        net.Listener
	srv       *http.Server
	port      int
	closed    bool
	serveErr  chan error
	stopAfter func() bool
}

// New prepares a server: it checks the options, loads or creates the
// certificates and mints the session token. Nothing listens until Start.
func New(opts Options) (*Server, error) {
	if opts.Phone == nil {
		return nil, errors.New("localhost: no phone given")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultMaxBody
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:" + strconv.Itoa(DefaultPort)
	}
	host, portStr, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w (use 127.0.0.1:<port>)", opts.Addr, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("server address %q: the local server only listens on 127.0.0.1", opts.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("server address %q: bad port", opts.Addr)
	}
	opts.Addr = net.JoinHostPort("127.0.0.1", portStr)

	s := &Server{opts: opts, log: opts.Logger, phone: opts.Phone, token: newToken(), port: port}
	for _, o := range opts.CRMOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("CRM URL: %w", err)
		}
		if !s.crmOrigin(n) {
			s.origins = append(s.origins, n)
		}
	}
	s.certs, err = newCertManager(opts.DataDir, time.Now, s.log)
	if err != nil {
		return nil, err
	}
	if err := s.loadAssets(); err != nil {
		return nil, err
	}
	s.hub = newHub(s)
	s.handler = s.routes()
	return s, nil
}

func (s *Server) loadAssets() error {
	var err error
	s.tmpl, err = template.ParseFS(assets.Templates(), "*.html")
	if err != nil {
		return fmt.Errorf("widget templates: %w", err)
	}
	s.static = assets.Static()
	// The static prefix carries a content hash so browsers may cache the
	// files forever and still pick up a new version at once.
	h := sha256.New()
	err = fs.WalkDir(s.static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(s.static, p)
		if err != nil {
			return err
		}
		if path.Ext(p) == ".js" && p != "js/main.js" {
			s.modules = append(s.modules, p)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("widget files: %w", err)
	}
	s.staticHash = hex.EncodeToString(h.Sum(nil))[:12]
	s.openapi = openAPISpec
	return nil
}

// Start listens on 127.0.0.1 and serves until ctx ends or Close is called.
// It also writes the token file for the command-line client.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil || s.closed {
		return errors.New("localhost: server already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (is another Switchboard running? change [server] port)", s.opts.Addr, err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	if err := s.writeTokenFile(); err != nil {
		ln.Close()
		return err
	}
	tlsCfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.certs.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		// "OPTIONS *" would otherwise be answered before the Host check.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:                  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.ln = ln
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.srv.ServeTLS(ln, "", "") }()
	s.stopAfter = context.AfterFunc(ctx, func() { s.Close() })
	s.log.Info("local server listening", "url", s.URL())
	return nil
}

// Close stops the server, disconnects every widget and removes the token
// file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.srv
	if s.stopAfter != nil {
		s.stopAfter()
	}
	s.mu.Unlock()
	s.hub.closeAll()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = srv.Shutdown(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = srv.Close()
		}
	}
	s.removeTokenFile()
	return err
}

// Port is the port the server listens on (known after Start).
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// URL is the widget's address in a plain browser tab.
func (s *Server) URL() string { return fmt.Sprintf("https://localhost:%d/", s.port) }

// ChannelURL is the address for this server's port and crmURL.
func (s *Server) ChannelURL(crmURL string) (string, error) { return ChannelURL(s.Port(), crmURL) }

// CertInfo describes the certificates in use.
func (s *Server) CertInfo() CertInfo { return s.certs.info() }

// RootCAs is a pool holding only the local CA, for clients in tests.
func (s *Server) RootCAs() *x509.CertPool { return s.certs.caPool() }

// ChannelURL is what the Dynamics administrator pastes into the CIF channel
// provider: https://localhost:<port>/dyncrm?base=<CRM URL>.
func ChannelURL(port int, crmURL string) (string, error) {
	if port <= 0 || port > 65535 {
		return "", fmt.Errorf("port %d out of range", port)
	}
	origin, err := normalizeOrigin(crmURL)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("https://localhost:%d/dyncrm?base=%s", port, url.QueryEscape(origin)), nil
}

// tokenFile is what the command-line client reads.
type tokenFile struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

// DefaultTokenFile is the token file in the OS config directory.
func DefaultTokenFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory: %w", err)
	}
	return filepath.Join(dir, "switchboard", "api-token.json"), nil
}

func (s *Server) writeTokenFile() error {
	if s.opts.TokenFile == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.opts.TokenFile), 0o700); err != nil {
		return fmt.Errorf("creating the token file's directory: %w", err)
	}
	b, _ := json.Marshal(tokenFile{URL: fmt.Sprintf("https://127.0.0.1:%d", s.port), Token: s.token, PID: os.Getpid()})
	if err := atomicfile.Write(s.opts.TokenFile, b, 0o600); err != nil {
		return fmt.Errorf("writing the API token file: %w", err)
	}
	return nil
}

// removeTokenFile deletes the token file unless another instance has
// since written its own.
func (s *Server) removeTokenFile() {
	if s.opts.TokenFile == "" {
		return
	}
	b, err := os.ReadFile(s.opts.TokenFile)
	if err != nil {
		return
	}
	var tf tokenFile
	if json.Unmarshal(b, &tf) == nil && tokenEqual(tf.Token, s.token) {
		os.Remove(s.opts.TokenFile)
	}
}
