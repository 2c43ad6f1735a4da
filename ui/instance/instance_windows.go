//go:build windows

package instance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/windows"
)

// DefaultDir is %LOCALAPPDATA%\switchboard, private to the user by the
// profile's ACL.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a directory for the instance lock: %w", err)
	}
	return filepath.Join(d, "switchboard"), nil
}

const (
	lockName = "instance.lock"
	portName = "instance.json"
)

type winLock struct{ f *os.File }

func (l winLock) Close() error {
	ol := new(windows.Overlapped)
	_ = windows.UnlockFileEx(windows.Handle(l.f.Fd()), 0, 1, 0, ol)
	return l.f.Close()
}

func lockFile(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the instance lock: %w", err)
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if err == windows.ERROR_LOCK_VIOLATION {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return winLock{f}, nil
}

type portFile struct {
	Port  int    `json:"port"`
	Token string `json:"token"`
}

// listen opens loopback TCP and publishes port and token in a file only
// this user can read: another local user may reach the port but cannot
// know the token.
func (p *Primary) listen() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("opening the instance channel: %w", err)
	}
	var t [24]byte
	if _, err := rand.Read(t[:]); err != nil {
		ln.Close()
		return err
	}
	p.token = hex.EncodeToString(t[:])
	b, _ := json.Marshal(portFile{Port: ln.Addr().(*net.TCPAddr).Port, Token: p.token})
	path := filepath.Join(p.opts.Dir, portName)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("writing the instance channel file: %w", err)
	}
	p.ln = ln
	p.clean = func() { os.Remove(path) }
	return nil
}

func dial(ctx context.Context, dir string) (net.Conn, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, portName))
	if err != nil {
		return nil, "", fmt.Errorf("reaching the running Switchboard: %w", err)
	}
	var pf portFile
	if err := json.Unmarshal(b, &pf); err != nil || pf.Port <= 0 || pf.Port > 65535 {
		return nil, "", fmt.Errorf("reaching the running Switchboard: bad channel file")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pf.Port)))
	if err != nil {
		return nil, "", fmt.Errorf("reaching the running Switchboard: %w", err)
	}
	return c, pf.Token, nil
}
