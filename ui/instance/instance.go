package instance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Options say where the lock and the channel live.
type Options struct {
	// Dir holds the lock and the socket (Windows: the port file). Empty
	// means DefaultDir().
	Dir    string
	Logger *slog.Logger
}

var (
	// ErrRunning means another process of this user holds the instance.
	ErrRunning = errors.New("switchboard is already running for this user")
	// ErrHandedOff is what Claim returns after giving the arguments to the
	// running instance: the caller should exit successfully.
	ErrHandedOff = errors.New("arguments handed to the running Switchboard")
)

// Limits on what a launch may hand over: a command line, not a payload.
const (
	maxLine    = 64 << 10
	maxArgs    = 64
	maxArgSize = 4 << 10
)

// message is one hand-over, one JSON line.
type message struct {
	Token string   `json:"token,omitempty"`
	Args  []string `json:"args"`
}

// Primary is the running instance: it holds the lock and receives later
// launches' arguments.
type Primary struct {
	opts  Options
	lock  io.Closer
	ln    net.Listener
	token string
	clean func()

	once sync.Once
}

func (o *Options) fill() error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return err
		}
		o.Dir = d
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", o.Dir, err)
	}
	// MkdirAll keeps an existing directory's mode; the channel's privacy
	// rests on it, so insist.
	if err := os.Chmod(o.Dir, 0o700); err != nil {
		return fmt.Errorf("securing %s: %w", o.Dir, err)
	}
	return nil
}

// Acquire makes this process the user's instance, or returns ErrRunning.
func Acquire(opts Options) (*Primary, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	lock, err := lockFile(opts.Dir)
	if err != nil {
		return nil, err
	}
	p := &Primary{opts: opts, lock: lock}
	if err := p.listen(); err != nil {
		lock.Close()
		return nil, err
	}
	return p, nil
}

// Serve hands every later launch's arguments to handle, one at a time,
// until ctx ends or Close is called.
func (p *Primary) Serve(ctx context.Context, handle func(args []string)) error {
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("instance channel: %w", err)
		}
		args, err := p.receive(c)
		if err != nil {
			p.opts.Logger.Warn("refused a hand-over from another launch", "error", err)
			continue
		}
		handle(args)
	}
}

func (p *Primary) receive(c net.Conn) ([]string, error) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxLine+1), 4096).ReadBytes('\n')
	if err != nil {
		fmt.Fprintln(c, "error: incomplete message")
		return nil, fmt.Errorf("reading: %w", err)
	}
	args, err := decodeMessage(line, p.token)
	if err != nil {
		fmt.Fprintln(c, "error:", err)
		return nil, err
	}
	fmt.Fprintln(c, "ok")
	return args, nil
}

// Close releases the lock and the channel.
func (p *Primary) Close() error {
	var err error
	p.once.Do(func() {
		err = p.ln.Close()
		if p.clean != nil {
			p.clean()
		}
		p.lock.Close()
	})
	return err
}

// decodeMessage checks one hand-over line.
func decodeMessage(line []byte, token string) ([]string, error) {
	if len(line) > maxLine {
		return nil, errors.New("message too long")
	}
	var m message
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("bad message: %w", err)
	}
	if d.More() {
		return nil, errors.New("bad message: trailing data")
	}
	if m.Token != token {
		return nil, errors.New("wrong token")
	}
	if len(m.Args) > maxArgs {
		return nil, errors.New("too many arguments")
	}
	for _, a := range m.Args {
		if len(a) > maxArgSize {
			return nil, errors.New("argument too long")
		}
	}
	if m.Args == nil {
		m.Args = []string{}
	}
	return m.Args, nil
}

// Send hands args to the running instance and waits for its receipt.
func Send(ctx context.Context, opts Options, args []string) error {
	if err := opts.fill(); err != nil {
		return err
	}
	c, token, err := dial(ctx, opts.Dir)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	}
	b, err := json.Marshal(message{Token: token, Args: args})
	if err != nil {
		return err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("handing over to the running Switchboard: %w", err)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no receipt from the running Switchboard: %w", err)
	}
	if reply != "ok\n" {
		return fmt.Errorf("the running Switchboard refused: %s", reply)
	}
	return nil
}

// Claim becomes the primary instance, or hands args to the one running
// and returns ErrHandedOff. It retries while an instance is starting up or
// shutting down, until ctx ends.
func Claim(ctx context.Context, opts Options, args []string) (*Primary, error) {
	for {
		p, err := Acquire(opts)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrRunning) {
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = Send(sctx, opts, args)
		cancel()
		if err == nil {
			return nil, ErrHandedOff
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w, and it did not take the arguments: %w", ErrRunning, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
