package localhost

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"switchboard/app"
)

// ClientOptions say where the command-line client finds the running app.
type ClientOptions struct {
	TokenFile string // the file the server wrote (DefaultTokenFile)
	DataDir   string // for the local CA that signs the server's certificate
	Timeout   time.Duration
}

// Client drives the running app through the local API, for
// `switchboard call | answer | hangup | status | history`.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// ErrNotRunning means no token file was found: the app isn't running.
var ErrNotRunning = errors.New("switchboard is not running (start it first)")

// NewClient reads the token file and trusts only the local CA.
func NewClient(opts ClientOptions) (*Client, error) {
	b, err := os.ReadFile(opts.TokenFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotRunning
	}
	if err != nil {
		return nil, fmt.Errorf("reading the API token: %w", err)
	}
	if st, err := os.Stat(opts.TokenFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users; it must be 0600 (restart switchboard to rewrite it)", opts.TokenFile)
	}
	var tf tokenFile
	if err := json.Unmarshal(b, &tf); err != nil || tf.Token == "" || tf.URL == "" {
		return nil, fmt.Errorf("%s is not a Switchboard token file (restart switchboard to rewrite it)", opts.TokenFile)
	}
	u, err := url.Parse(tf.URL)
	if err != nil || u.Scheme != "https" || u.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("%s names %q; only https://127.0.0.1 is accepted", opts.TokenFile, tf.URL)
	}
	pool, err := loadCAPool(opts.DataDir)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 40 * time.Second
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
		Proxy:             nil, // never send the token through a proxy
	}
	return &Client{base: tf.URL, token: tf.Token, http: &http.Client{Transport: tr, Timeout: opts.Timeout}}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reaching switchboard at %s: %w (is it running?)", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return &ResponseError{Status: resp.StatusCode, APIError: eb.Error}
		}
		return &ResponseError{Status: resp.StatusCode, APIError: APIError{Code: "http", Message: resp.Status}}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("unexpected answer from switchboard: %w", err)
		}
	}
	return nil
}

// ResponseError is an error answer from the API.
type ResponseError struct {
	Status int
	APIError
}

func (e *ResponseError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Status returns registration, calls, settings and devices.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, &st)
	return st, err
}

// Dial calls number.
func (c *Client) Dial(ctx context.Context, number string) (app.Call, error) {
	var call app.Call
	err := c.do(ctx, http.MethodPost, "/api/v1/calls", DialRequest{Number: number}, &call)
	return call, err
}

// pick returns the newest live call that want accepts, or "".
func pick(calls []app.Call, want func(app.Call) bool) string {
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].State != app.CallEnded && want(calls[i]) {
			return calls[i].ID
		}
	}
	return ""
}

func (c *Client) action(ctx context.Context, id, act string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/calls/"+url.PathEscape(id)+"/"+act, nil, nil)
}

// Answer answers call id, or the newest ringing call when id is "".
// It returns the id it acted on.
func (c *Client) Answer(ctx context.Context, id string) (string, error) {
	if id == "" {
		st, err := c.Status(ctx)
		if err != nil {
			return "", err
		}
		if id = pick(st.Calls, func(k app.Call) bool { return k.State == app.CallIncoming }); id == "" {
			return "", errors.New("no call is ringing")
		}
	}
	return id, c.action(ctx, id, "answer")
}

// Hangup ends call id, or when id is "" the active call (else the newest
// live call). It returns the id it acted on.
func (c *Client) Hangup(ctx context.Context, id string) (string, error) {
	if id == "" {
		st, err := c.Status(ctx)
		if err != nil {
			return "", err
		}
		id = pick(st.Calls, func(k app.Call) bool { return k.State == app.CallActive })
		if id == "" {
			id = pick(st.Calls, func(app.Call) bool { return true })
		}
		if id == "" {
			return "", errors.New("no call to hang up")
		}
	}
	return id, c.action(ctx, id, "hangup")
}

// History returns one page of the call log.
func (c *Client) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	v := url.Values{}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Direction != "" {
		v.Set("direction", q.Direction)
	}
	if q.Disposition != "" {
		v.Set("disposition", q.Disposition)
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	path := "/api/v1/history"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var p HistoryPage
	err := c.do(ctx, http.MethodGet, path, nil, &p)
	return p, err
}
