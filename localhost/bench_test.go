package localhost

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"switchboard/app"
	"switchboard/assets"
)

// TestWidgetBundleSize reports what a first load transfers.
func TestWidgetBundleSize(t *testing.T) {
	var raw, gz int
	files := 0
	fs.WalkDir(assets.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(assets.Static(), p)
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(b)
		w.Close()
		raw += len(b)
		gz += min(z.Len(), len(b))
		files++
		return nil
	})
	t.Logf("widget bundle: %d files, %d bytes (%.1f KiB), %d bytes gzipped (%.1f KiB)", files, raw, float64(raw)/1024, gz, float64(gz)/1024)
}

// BenchmarkWidgetFirstLoadHTTP: the page and every file it needs, over a
// new TLS connection with nothing cached (the server's share of a load).
func BenchmarkWidgetFirstLoadHTTP(b *testing.B) {
	f := newFixture(b)
	page := f.do("GET", "/", nil, nil)
	re := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
	var urls []string
	for _, m := range re.FindAllStringSubmatch(string(page.body), -1) {
		urls = append(urls, m[1])
	}
	// Modules main.js imports itself.
	urls = append(urls, strings.Replace(urls[0], "img/logo.svg", "js/main.js", 1))
	b.ResetTimer()
	var bytesOut int64
	for b.Loop() {
		c := f.httpClient(f.client.Transport.(*http.Transport).TLSClientConfig.Clone())
		for _, u := range append([]string{"/"}, urls...) {
			req, _ := http.NewRequest("GET", f.base+u, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			res, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			bytesOut += n
		}
		c.CloseIdleConnections()
	}
	b.ReportMetric(float64(bytesOut)/float64(b.N), "bytes/load")
}

// BenchmarkWidgetFirstLoadBrowser: Chromium with its cache off, from
// navigation to a widget showing the phone's state.
func BenchmarkWidgetFirstLoadBrowser(b *testing.B) {
	f := browserFixture(b)
	ctx := tab(b)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		do(b, ctx, chromedp.Navigate(f.base+"/"))
		waitJS(b, ctx, `!!document.querySelector('.reg-text') && document.querySelector('.reg-text').textContent === 'Online'`)
	}
}

// BenchmarkAPIRoundTrip: authenticated requests over a kept-alive
// HTTP/2 connection, as the widget makes them.
func BenchmarkAPIRoundTrip(b *testing.B) {
	f := newFixture(b)
	c, _ := f.phone.Dial(context.Background(), "1002")
	f.phone.answerRemote(c.ID)
	b.Run("status", func(b *testing.B) {
		for b.Loop() {
			if r := f.api("GET", "/api/v1/status", nil); r.status != 200 {
				b.Fatal(r.status)
			}
		}
	})
	b.Run("mute", func(b *testing.B) {
		on := false
		for b.Loop() {
			on = !on
			if r := f.api("POST", "/api/v1/calls/"+c.ID+"/mute", map[string]bool{"on": on}); r.status != 204 {
				b.Fatal(r.status)
			}
		}
	})
}

// BenchmarkEventToWebSocket: from a Publish on the app's bus to the
// message read by a connected widget.
func BenchmarkEventToWebSocket(b *testing.B) {
	f := newFixture(b)
	w := f.widget()
	w.next("state")
	call := app.Call{ID: "c1", Direction: app.Inbound, Number: "1002", State: app.CallActive, Started: time.Now()}
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		call.Muted = !call.Muted
		c := call
		f.phone.bus.Publish(app.Event{Type: app.EvCall, Call: &c})
		m := w.next("call")
		total += time.Since(start)
		if m["call"].(map[string]any)["muted"] != call.Muted {
			b.Fatal("out of order")
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/event")
}
