//go:build unix

package instance

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// DefaultDir is $XDG_RUNTIME_DIR/switchboard (per user, tmpfs, 0700) when
// the session has one, else the user's config directory. A socket path
// must stay under ~100 bytes, so an overlong one falls back to /tmp.
func DefaultDir() (string, error) {
	dir := ""
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		dir = filepath.Join(d, "switchboard")
	} else {
		c, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding a directory for the instance lock: %w", err)
		}
		dir = filepath.Join(c, "switchboard")
	}
	if len(filepath.Join(dir, sockName)) > 100 {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("switchboard-%d", os.Getuid()))
	}
	return dir, nil
}

const (
	lockName = "instance.lock"
	sockName = "instance.sock"
)

type flockFile struct{ f *os.File }

func (l flockFile) Close() error {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}

// lockFile takes an exclusive flock: the kernel drops it when the process
// dies, so a crash never leaves a stale lock.
func lockFile(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the instance lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return flockFile{f}, nil
}

func (p *Primary) listen() error {
	path := filepath.Join(p.opts.Dir, sockName)
	// We hold the lock, so a socket file left there is a dead instance's.
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("opening the instance channel: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("securing the instance channel: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	p.ln = ln
	return nil
}

func dial(ctx context.Context, dir string) (net.Conn, string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(dir, sockName))
	if err != nil {
		return nil, "", fmt.Errorf("reaching the running Switchboard: %w", err)
	}
	return c, "", nil
}
