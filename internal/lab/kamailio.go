package lab

import (
	"cmp"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // writes Kamailio's database without the sqlite3 CLI
)

// DefaultDomain is the SIP domain (and digest realm) of a lab Kamailio
// unless KamailioOptions.Domain says otherwise. An IP literal needs no DNS:
// a UA can use sip:1001@127.0.0.1 as its AOR and send everything to
// Addr("udp"). Names such as "lab.switchboard.test" work too, but then the
// UA must use Addr as its outbound proxy because the name does not resolve.
const DefaultDomain = "127.0.0.1"

// DefaultUsers returns extensions 1001..1010, each with password "pw"+ext
// (1001 → pw1001).
func DefaultUsers() map[string]string {
	u := make(map[string]string, 10)
	for i := 1001; i <= 1010; i++ {
		ext := strconv.Itoa(i)
		u[ext] = "pw" + ext
	}
	return u
}

// KamailioOptions configures StartKamailio. The zero value is usable.
type KamailioOptions struct {
	// Users maps extension to password. Nil means DefaultUsers().
	Users map[string]string
	// Domain is the SIP domain and digest realm. Empty means DefaultDomain.
	Domain string
	// Dir holds the config, database, sockets, certificates and log. Empty
	// means a new temporary directory, removed by Close. A caller-provided
	// directory is left in place.
	Dir string
	// CA signs the TLS server certificate. Nil means a new CA in Dir.
	CA *CA
	// NoPresence drops the presence modules (dialog, presence, pua, ...).
	NoPresence bool
	// Debug is Kamailio's log level: 1 notice ... 3 debug. 0 means 2 (info).
	Debug int
	// MaxExpires caps the registration lifetime the registrar grants, in
	// seconds, as PBXs and SBCs do (0 means 3600).
	MaxExpires int
	// Binary is the kamailio executable; empty means "kamailio" on PATH.
	Binary string
	// Logger receives lifecycle messages; nil means slog.Default().
	Logger *slog.Logger
}

// Kamailio is a running lab PBX on 127.0.0.1.
type Kamailio struct {
	opts     KamailioOptions
	log      *slog.Logger
	dir      string
	ownDir   bool
	domain   string
	port     int // UDP and TCP
	tlsPort  int
	cfgPath  string
	logPath  string
	rpcPath  string
	ca       *CA
	cert     *Cert
	modules  string
	rpcSeq   atomic.Int64
	mu       sync.Mutex
	p        *proc
	closed   bool
	users    map[string]string
	binary   string
	debug    int
	presence bool
}

// Contact is one registered binding of an extension, as usrloc shows it.
type Contact struct {
	Address   string // Contact URI
	Expires   int    // seconds left
	Received  string // source the REGISTER came from, "" if unset
	UserAgent string
	Socket    string // Kamailio socket the REGISTER arrived on, e.g. "udp:127.0.0.1:5060"
	CallID    string
	CSeq      int
	Instance  string // +sip.instance, "" if unset
}

// StartKamailio writes a config and database into a directory and starts
// Kamailio in the foreground. It returns when the server answers on its
// control socket and its TCP and TLS ports accept connections.
func StartKamailio(ctx context.Context, opts KamailioOptions) (*Kamailio, error) {
	k := &Kamailio{opts: opts, log: opts.Logger, domain: opts.Domain, users: opts.Users,
		binary: opts.Binary, debug: opts.Debug, presence: !opts.NoPresence}
	if k.log == nil {
		k.log = slog.Default()
	}
	if k.domain == "" {
		k.domain = DefaultDomain
	}
	if k.users == nil {
		k.users = DefaultUsers()
	}
	if k.binary == "" {
		k.binary = "kamailio"
	}
	if k.debug == 0 {
		k.debug = 2
	}
	if err := k.prepare(); err != nil {
		k.removeDir()
		return nil, err
	}
	if err := k.start(ctx); err != nil {
		k.removeDir()
		return nil, err
	}
	return k, nil
}

func (k *Kamailio) prepare() error {
	if _, err := exec.LookPath(k.binary); err != nil {
		return fmt.Errorf("lab: %s not found (%w); install Debian packages kamailio kamailio-sqlite-modules kamailio-presence-modules kamailio-tls-modules", k.binary, err)
	}
	var err error
	if k.opts.Dir != "" {
		k.dir = k.opts.Dir
		if err := os.MkdirAll(k.dir, 0o755); err != nil {
			return fmt.Errorf("lab: create Kamailio directory: %w", err)
		}
	} else {
		// Short path under /tmp: unix socket paths are limited to 108 bytes
		// and t.TempDir() paths can be long.
		if k.dir, err = os.MkdirTemp("", "labkam-"); err != nil {
			return fmt.Errorf("lab: create Kamailio directory: %w", err)
		}
		k.ownDir = true
	}
	k.cfgPath = filepath.Join(k.dir, "kamailio.cfg")
	k.logPath = filepath.Join(k.dir, "kamailio.log")
	k.rpcPath = filepath.Join(k.dir, "kamailio.jsonrpc")
	if len(k.rpcPath) > 100 {
		return fmt.Errorf("lab: Kamailio directory %q is too long for a unix socket path; use a shorter Dir", k.dir)
	}
	if k.modules, err = kamailioModulesDir(); err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	k.port, k.tlsPort = ports[0], ports[1]

	k.ca = k.opts.CA
	if k.ca == nil {
		if k.ca, err = NewCA(filepath.Join(k.dir, "ca")); err != nil {
			return err
		}
	}
	hosts := []string{"127.0.0.1", "localhost"}
	if k.domain != "127.0.0.1" && k.domain != "localhost" {
		hosts = append(hosts, k.domain)
	}
	if k.cert, err = k.ca.IssueServerCert(hosts...); err != nil {
		return err
	}
	tlsCfg := filepath.Join(k.dir, "tls.cfg")
	tlsText := fmt.Sprintf("[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = %s\ncertificate = %s\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n",
		k.cert.KeyFile, k.cert.ChainFile)
	if err := os.WriteFile(tlsCfg, []byte(tlsText), 0o644); err != nil {
		return fmt.Errorf("lab: write tls.cfg: %w", err)
	}

	dbPath := filepath.Join(k.dir, "kamailio.sqlite")
	if err := k.createDB(dbPath); err != nil {
		return err
	}

	var aliases []string
	if net.ParseIP(k.domain) == nil {
		aliases = append(aliases, k.domain)
	}
	// "localhost" only with our ports: see the note on kamailioCfg.
	aliases = append(aliases, fmt.Sprintf("localhost:%d", k.port), fmt.Sprintf("localhost:%d", k.tlsPort))
	cfg, err := renderKamailioCfg(kamailioCfgData{
		DBPath: dbPath, Domain: k.domain, Debug: k.debug, Aliases: aliases,
		Port: k.port, TLSPort: k.tlsPort, ModulesDir: k.modules,
		RPCSocket: k.rpcPath, CtlSocket: filepath.Join(k.dir, "kamailio.ctl"),
		TLSConfig: tlsCfg, Presence: k.presence, MaxExpires: cmp.Or(k.opts.MaxExpires, 3600),
	})
	if err != nil {
		return fmt.Errorf("lab: render kamailio.cfg: %w", err)
	}
	if err := os.WriteFile(k.cfgPath, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("lab: write kamailio.cfg: %w", err)
	}
	return nil
}

// kamailioSchemaDir holds the table definitions shipped by
// kamailio-sqlite-modules.
const kamailioSchemaDir = "/usr/share/kamailio/db_sqlite"

func (k *Kamailio) createDB(path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("lab: open Kamailio database: %w", err)
	}
	defer db.Close()
	files := []string{"standard", "auth_db", "usrloc"}
	if k.presence {
		files = append(files, "presence")
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(kamailioSchemaDir, f+"-create.sql"))
		if err != nil {
			return fmt.Errorf("lab: read Kamailio schema (is kamailio-sqlite-modules installed?): %w", err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			return fmt.Errorf("lab: create Kamailio tables from %s: %w", f, err)
		}
	}
	exts := make([]string, 0, len(k.users))
	for ext := range k.users {
		exts = append(exts, ext)
	}
	sort.Strings(exts)
	for _, ext := range exts {
		if _, err := db.Exec(`INSERT INTO subscriber (username, domain, password) VALUES (?, ?, ?)`,
			ext, k.domain, k.users[ext]); err != nil {
			return fmt.Errorf("lab: add subscriber %s: %w", ext, err)
		}
	}
	return nil
}

func kamailioModulesDir() (string, error) {
	for _, d := range []string{
		"/usr/lib/x86_64-linux-gnu/kamailio/modules",
		"/usr/lib/aarch64-linux-gnu/kamailio/modules",
		"/usr/lib/kamailio/modules",
		"/usr/local/lib64/kamailio/modules",
		"/usr/local/lib/kamailio/modules",
	} {
		if _, err := os.Stat(filepath.Join(d, "tm.so")); err == nil {
			return d + "/", nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/*/kamailio/modules/tm.so")
	if len(matches) > 0 {
		return filepath.Dir(matches[0]) + "/", nil
	}
	return "", errors.New("lab: Kamailio modules directory not found; install Debian package kamailio")
}

func (k *Kamailio) start(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return errors.New("lab: Kamailio is closed")
	}
	if k.p != nil && !k.p.exited() {
		return errors.New("lab: Kamailio is already running")
	}
	_ = os.Remove(k.rpcPath)
	p, err := startProc("kamailio", k.logPath, k.dir, k.binary,
		"-f", k.cfgPath, "-DD", "-E",
		"-Y", k.dir, "-P", filepath.Join(k.dir, "kamailio.pid"),
		"-m", "64", "-M", "8")
	if err != nil {
		return err
	}
	k.p = p
	if err := k.waitReady(ctx); err != nil {
		p.stop(syscall.SIGTERM, 2*time.Second)
		return fmt.Errorf("%w\n--- kamailio.log (tail) ---\n%s", err, tailFile(k.logPath, 3000))
	}
	k.log.Debug("lab: kamailio started", "udp", k.Addr("udp"), "tls", k.Addr("tls"), "dir", k.dir)
	return nil
}

func (k *Kamailio) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if k.p.exited() {
			return fmt.Errorf("lab: kamailio exited during start-up (%v); see %s", k.p.err, k.logPath)
		}
		if k.readyOnce(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab: kamailio not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (k *Kamailio) readyOnce(ctx context.Context) bool {
	for _, port := range []int{k.port, k.tlsPort} {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
	}
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := k.RPC(rctx, "core.uptime")
	return err == nil
}

// Addr returns "127.0.0.1:port" for transport "udp", "tcp" or "tls" (UDP
// and TCP share one port). Unknown transports return the UDP address.
func (k *Kamailio) Addr(transport string) string {
	if strings.EqualFold(transport, "tls") {
		return fmt.Sprintf("127.0.0.1:%d", k.tlsPort)
	}
	return fmt.Sprintf("127.0.0.1:%d", k.port)
}

// Port returns the UDP/TCP port; TLSPort the TLS port.
func (k *Kamailio) Port() int { return k.port }

// TLSPort returns the TLS port.
func (k *Kamailio) TLSPort() int { return k.tlsPort }

// Domain returns the SIP domain, which is also the digest realm.
func (k *Kamailio) Domain() string { return k.domain }

// Password returns the password of ext, "" if ext is not a user.
func (k *Kamailio) Password(ext string) string { return k.users[ext] }

// AOR returns "sip:ext@domain", the address-of-record of an extension.
func (k *Kamailio) AOR(ext string) string { return "sip:" + ext + "@" + k.domain }

// URI returns a request URI that reaches ext through this server without
// an outbound proxy: the AOR with the server's port when the domain is an
// IP literal (sip:1002@127.0.0.1:PORT), else the plain AOR.
func (k *Kamailio) URI(ext string) string {
	if net.ParseIP(k.domain) != nil {
		return fmt.Sprintf("sip:%s@%s:%d", ext, k.domain, k.port)
	}
	return k.AOR(ext)
}

// CAFile returns the PEM path of the CA that signed the TLS certificate.
func (k *Kamailio) CAFile() string { return k.ca.CertFile }

// CA returns the CA that signed the TLS certificate.
func (k *Kamailio) CA() *CA { return k.ca }

// TLSConfig returns a client config that trusts the lab CA, for Go clients.
func (k *Kamailio) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: k.ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Log returns the path of Kamailio's log (stderr of the process).
func (k *Kamailio) Log() string { return k.logPath }

// Dir returns the working directory (config, database, sockets).
func (k *Kamailio) Dir() string { return k.dir }

// Running reports whether the process is up.
func (k *Kamailio) Running() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.p != nil && !k.p.exited()
}

// Stop terminates Kamailio, keeping its directory, ports and config for
// Restart. Registrations are lost (usrloc keeps them in memory only).
func (k *Kamailio) Stop() {
	k.mu.Lock()
	p := k.p
	k.mu.Unlock()
	if p != nil {
		p.stop(syscall.SIGTERM, 5*time.Second)
	}
}

// Restart stops Kamailio (if running) and starts it again on the same ports
// with the same users. Clients have to register again.
func (k *Kamailio) Restart(ctx context.Context) error {
	k.Stop()
	// The UDP port may still be held for a moment by a worker that has not
	// exited yet: retry until the context ends.
	var err error
	for {
		if err = k.start(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil || !strings.Contains(err.Error(), "exited during start-up") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close stops Kamailio and removes its directory if the lab created it.
func (k *Kamailio) Close() error {
	k.Stop()
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	return k.removeDir()
}

func (k *Kamailio) removeDir() error {
	if k.ownDir && k.dir != "" {
		return os.RemoveAll(k.dir)
	}
	return nil
}

// RPCError is a JSON-RPC error returned by Kamailio.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("kamailio rpc: %d %s", e.Code, e.Message) }

// RPC calls a Kamailio RPC command (kamcmd's commands, e.g. "ul.dump",
// "dlg.list", "presentity.list") over the JSON-RPC datagram socket and
// returns the "result" member. Parameters are strings or numbers.
func (k *Kamailio) RPC(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	local := filepath.Join(k.dir, fmt.Sprintf("rpc-%d-%d.sock", os.Getpid(), k.rpcSeq.Add(1)))
	_ = os.Remove(local)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("lab: rpc socket: %w", err)
	}
	defer os.Remove(local)
	defer conn.Close()
	if params == nil {
		params = []any{}
	}
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
	if err != nil {
		return nil, fmt.Errorf("lab: rpc request: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	_ = conn.SetDeadline(deadline)
	if _, err := conn.WriteToUnix(req, &net.UnixAddr{Name: k.rpcPath, Net: "unixgram"}); err != nil {
		return nil, fmt.Errorf("lab: rpc %s: %w", method, err)
	}
	buf := make([]byte, 1<<20)
	n, _, err := conn.ReadFromUnix(buf)
	if err != nil {
		return nil, fmt.Errorf("lab: rpc %s: no answer from kamailio: %w", method, err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(buf[:n], &resp); err != nil {
		return nil, fmt.Errorf("lab: rpc %s: bad answer: %w", method, err)
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp.Result, nil
}

// Registered returns the contacts currently registered for ext (none when
// it is not registered).
func (k *Kamailio) Registered(ctx context.Context, ext string) ([]Contact, error) {
	res, err := k.RPC(ctx, "ul.lookup", "location", ext)
	if err != nil {
		var re *RPCError
		if errors.As(err, &re) && strings.Contains(strings.ToLower(re.Message), "not found") {
			return nil, nil
		}
		return nil, err
	}
	var r struct {
		Contacts []struct {
			Contact struct {
				Address   string `json:"Address"`
				Expires   any    `json:"Expires"`
				Received  string `json:"Received"`
				UserAgent string `json:"User-Agent"`
				Socket    string `json:"Socket"`
				CallID    string `json:"Call-ID"`
				CSeq      int    `json:"CSeq"`
				Instance  string `json:"Instance"`
			} `json:"Contact"`
		} `json:"Contacts"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, fmt.Errorf("lab: parse ul.lookup: %w", err)
	}
	out := make([]Contact, 0, len(r.Contacts))
	for _, c := range r.Contacts {
		cc := c.Contact
		ct := Contact{Address: cc.Address, UserAgent: cc.UserAgent, Socket: cc.Socket,
			CallID: cc.CallID, CSeq: cc.CSeq, Received: notSet(cc.Received), Instance: notSet(cc.Instance)}
		switch v := cc.Expires.(type) {
		case float64:
			ct.Expires = int(v)
		case string: // "permanent"
			ct.Expires = -1
		}
		out = append(out, ct)
	}
	return out, nil
}

func notSet(s string) string {
	if s == "[not set]" {
		return ""
	}
	return s
}

// WaitRegistered polls until ext has at least n contacts (n = 0 waits for
// none, i.e. unregistered) or ctx ends. It returns the contacts seen last.
func (k *Kamailio) WaitRegistered(ctx context.Context, ext string, n int) ([]Contact, error) {
	for {
		cs, err := k.Registered(ctx, ext)
		if err == nil && ((n == 0 && len(cs) == 0) || (n > 0 && len(cs) >= n)) {
			return cs, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return cs, fmt.Errorf("lab: extension %s has %d contacts, want %d: %w", ext, len(cs), n, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
