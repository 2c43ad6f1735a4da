package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"switchboard/crm/crmconf"
	"switchboard/internal/atomicfile"
)

// Config is the TOML file an administrator presets (and the agent's own
// choices override, see Settings). It never holds a secret: the password
// lives in the OS keychain.
type Config struct {
	PBX       PBXConfig       `toml:"pbx" json:"pbx"`
	Account   AccountConfig   `toml:"account" json:"account"`
	Audio     AudioConfig     `toml:"audio" json:"audio"`
	Calls     CallsConfig     `toml:"calls" json:"calls"`
	Recording RecordingConfig `toml:"recording" json:"recording"`
	Server    ServerConfig    `toml:"server" json:"server"`
	UI        UIConfig        `toml:"ui" json:"ui"`
	CRM       CRMConfig       `toml:"crm" json:"crm"`
}

// CRMConfig names the Dynamics 365 organisations allowed to frame the
// widget (one URL, or a list) and presets every Dynamics integration
// option (SPEC B4, C1–C5; keys and defaults in package crmconf). The
// agent's own changes, kept in the store, win over these presets.
type CRMConfig struct {
	URL StringList `toml:"url" json:"url"`
	crmconf.Settings
}

// StringList decodes from a TOML string or array of strings, so an
// administrator with one org can write url = "https://org.crm.dynamics.com".
type StringList []string

// UnmarshalTOML implements toml.Unmarshaler.
func (l *StringList) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		*l = StringList{x}
	case []any:
		out := make(StringList, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("expected a list of strings, found %T", e)
			}
			out = append(out, s)
		}
		*l = out
	default:
		return fmt.Errorf("expected a string or a list of strings, found %T", v)
	}
	return nil
}

// PBXConfig says where and how to reach the PBX.
type PBXConfig struct {
	Server    string `toml:"server" json:"server"`       // host[:port]
	Transport string `toml:"transport" json:"transport"` // udp, tcp, tls
	Domain    string `toml:"domain" json:"domain"`       // SIP domain; defaults to the server host
	CAFile    string `toml:"ca_file" json:"caFile"`      // extra CA to verify the PBX's TLS certificate
	SRTP      string `toml:"srtp" json:"srtp"`           // off, optional, required
	Expiry    int    `toml:"register_expiry" json:"registerExpiry"`
}

// AccountConfig is the agent's SIP identity (the password is not here).
type AccountConfig struct {
	Extension   string `toml:"extension" json:"extension"`
	AuthID      string `toml:"auth_id" json:"authId"` // defaults to the extension
	DisplayName string `toml:"display_name" json:"displayName"`
}

// AudioConfig names the devices (empty means the system default) and the
// codec preference order.
type AudioConfig struct {
	Mic     string   `toml:"mic" json:"mic"`
	Speaker string   `toml:"speaker" json:"speaker"`
	Ringer  string   `toml:"ringer" json:"ringer"`
	Codecs  []string `toml:"codecs" json:"codecs"`
}

// CallsConfig holds call handling choices.
type CallsConfig struct {
	AutoAnswer bool `toml:"auto_answer" json:"autoAnswer"`
}

// RecordingConfig says whether calls are recorded.
type RecordingConfig struct {
	Mode string `toml:"mode" json:"mode"` // off, always
}

// ServerConfig is the local HTTPS server (the widget and the local API).
type ServerConfig struct {
	Port int `toml:"port" json:"port"`
}

// UIConfig holds presentation choices.
type UIConfig struct {
	Language string `toml:"language" json:"language"` // "", en, zh-CN
}

// Codecs Switchboard can negotiate, in the default preference order.
var knownCodecs = []string{"opus", "g722", "pcmu", "pcma"}

// DefaultConfig is what a fresh install runs with.
func DefaultConfig() Config {
	return Config{
		PBX:       PBXConfig{Transport: "udp", SRTP: "off", Expiry: 300},
		Audio:     AudioConfig{Codecs: slices.Clone(knownCodecs)},
		Recording: RecordingConfig{Mode: "off"},
		Server:    ServerConfig{Port: 8777},
		CRM:       CRMConfig{Settings: crmconf.Default()},
	}
}

// DefaultConfigPath is the config file in the OS config directory.
func DefaultConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory: %w (use --config FILE)", err)
	}
	return filepath.Join(dir, "switchboard", "config.toml"), nil
}

// DefaultDataDir is where history, recordings and certificates live,
// unless SWITCHBOARD_DATA_DIR or --data-dir says otherwise.
func DefaultDataDir() (string, error) {
	if d := os.Getenv("SWITCHBOARD_DATA_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the data directory: %w (use --data-dir)", err)
	}
	return filepath.Join(dir, "switchboard", "data"), nil
}

// LoadConfig reads path over the defaults. A missing file is not an error
// (a fresh install has none); unknown keys are, so typos don't go unseen.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("reading config %s: %w", path, err)
	}
	md, err := toml.Decode(string(b), &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config %s: unknown keys %s", path, strings.Join(keys, ", "))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// SaveConfig writes cfg to path (0600, directories created).
func SaveConfig(path string, cfg Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating config directory: %w", err)
	}
	var sb strings.Builder
	if err := toml.NewEncoder(&sb).Encode(cfg); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(sb.String()), 0o600)
}

// Validate checks every field a person could get wrong and says which.
func (c *Config) Validate() error {
	var errs []error
	switch c.PBX.Transport {
	case "udp", "tcp", "tls":
	case "":
		c.PBX.Transport = "udp"
	default:
		errs = append(errs, fmt.Errorf("pbx.transport %q: use udp, tcp or tls", c.PBX.Transport))
	}
	if c.PBX.Server != "" {
		if _, _, err := SplitHostPort(c.PBX.Server); err != nil {
			errs = append(errs, fmt.Errorf("pbx.server: %w", err))
		}
	}
	switch c.PBX.SRTP {
	case "", "off", "optional", "required":
	default:
		errs = append(errs, fmt.Errorf("pbx.srtp %q: use off, optional or required", c.PBX.SRTP))
	}
	if c.PBX.Expiry != 0 && (c.PBX.Expiry < 30 || c.PBX.Expiry > 86400) {
		errs = append(errs, fmt.Errorf("pbx.register_expiry %d: use 30 to 86400 seconds", c.PBX.Expiry))
	}
	if c.Account.Extension != "" && strings.ContainsAny(c.Account.Extension, " @:;<>\"") {
		errs = append(errs, fmt.Errorf("account.extension %q: give the extension number or user name only", c.Account.Extension))
	}
	if len(c.Audio.Codecs) == 0 {
		c.Audio.Codecs = slices.Clone(knownCodecs)
	}
	for _, name := range c.Audio.Codecs {
		if !slices.Contains(knownCodecs, strings.ToLower(name)) {
			errs = append(errs, fmt.Errorf("audio.codecs: unknown codec %q (known: %s)", name, strings.Join(knownCodecs, ", ")))
		}
	}
	switch c.Recording.Mode {
	case "", "off", "always":
	default:
		errs = append(errs, fmt.Errorf("recording.mode %q: use off or always", c.Recording.Mode))
	}
	if c.Server.Port < 0 || c.Server.Port > 65535 {
		errs = append(errs, fmt.Errorf("server.port %d out of range", c.Server.Port))
	}
	for _, u := range c.CRM.URL {
		if err := validCRMURL(u); err != nil {
			errs = append(errs, fmt.Errorf("crm.url %q: %w", u, err))
		}
	}
	if err := c.CRM.Settings.Validate(); err != nil {
		errs = append(errs, err)
	} else {
		c.CRM.Settings = c.CRM.Settings.Canonical()
	}
	switch c.UI.Language {
	case "", "en", "zh-CN":
	default:
		errs = append(errs, fmt.Errorf("ui.language %q: use en or zh-CN", c.UI.Language))
	}
	return errors.Join(errs...)
}

// SplitHostPort accepts "host" or "host:port" (and bracketed IPv6) and
// returns port 0 when none is given.
func SplitHostPort(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty address")
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		// No port.
		h := strings.Trim(s, "[]")
		if strings.ContainsAny(h, " /@") {
			return "", 0, fmt.Errorf("%q is not a host name", s)
		}
		return h, 0, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be 1-65535", s)
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return "", 0, fmt.Errorf("%q is not a host name", s)
	}
	return host, port, nil
}

// validCRMURL accepts an https origin (path allowed, ignored by callers).
func validCRMURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" {
		return errors.New("use the https:// address of the Dynamics 365 organisation")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("give the organisation address only, without user, query or fragment")
	}
	return nil
}
