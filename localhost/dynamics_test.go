package localhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// fakeCIFLibrary stands in for msdyn_ciLibrary.js: the calls the widget
// makes, answering as the real library does (JSON-string results).
const fakeCIFLibrary = `(function () {
  var handlers = {};
  window.__cif = { handlers: handlers, calls: [] };
  function log(name, args) { window.__cif.calls.push(name); }
  window.Microsoft = { CIFramework: {
    addHandler: function (name, fn) { log('addHandler', arguments); handlers[name] = fn; },
    setClickToAct: function (on) { log('setClickToAct'); return Promise.resolve(null); },
    getEnvironment: function () { log('getEnvironment'); return Promise.resolve(JSON.stringify({ userLcid: 2052, orgLcid: 1033, clientUrl: location.origin, userId: '{00000000-0000-0000-0000-000000000001}' })); },
    searchAndOpenRecords: function (entity, query, searchOnly) { log('searchAndOpenRecords'); return Promise.resolve(JSON.stringify({ '0': { contactid: 'c-1', fullname: 'Ada Lovelace', entity: entity, query: query } })); },
    retrieveRecord: function () { log('retrieveRecord'); return Promise.reject(JSON.stringify({ message: 'record not found' })); },
    setMode: function (m) { log('setMode'); return Promise.resolve(null); }
  } };
  setTimeout(function () { window.dispatchEvent(new CustomEvent('CIFInitDone', { detail: [] })); }, 0);
})();`

// serveLoopback starts an HTTP server on 127.0.0.1 (a Dynamics double or
// an attacker's page) and returns its origin.
func serveLoopback(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func framePage(src string) string {
	return `<!doctype html><html><body style="margin:0"><iframe id="panel" src="` + html.EscapeString(src) +
		`" style="width:360px;height:700px;border:0"></iframe></body></html>`
}

// The widget inside a Dynamics page: it may be framed there, it loads the
// CIF library from the configured origin, click-to-dial reaches the phone,
// the CRM user's language is used, and the app's CIF requests run.
func TestWidgetInsideDynamics(t *testing.T) {
	needBrowser(t)
	mux := http.NewServeMux()
	var channel string
	mux.HandleFunc("/main.aspx", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, framePage(channel))
	})
	mux.HandleFunc("/webresources/Widget/msdyn_ciLibrary.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, fakeCIFLibrary)
	})
	crm := serveLoopback(t, mux)
	f := browserFixture(t, func(o *Options) { o.CRMOrigins = []string{crm} })
	var err error
	channel, err = f.s.ChannelURL(crm)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(crm+"/main.aspx"))
	waitFor(t, "the framed widget to connect as a CIF widget", func() bool {
		ws := f.s.Widgets()
		return len(ws) == 1 && ws[0].Mode == "cif" && ws[0].CRM == crm
	})
	frame := widgetFrame(t, ctx, f)
	// The CRM user's language (LCID 2052) switches the widget to Chinese.
	waitJS(t, frame, `document.documentElement.lang === 'zh-CN'`)
	// Click-to-act on a phone field dials.
	waitJS(t, frame, `!!(window.__cif && window.__cif.handlers.onclicktoact)`)
	do(t, frame, chromedp.Evaluate[chromedp.Void](`window.__cif.handlers.onclicktoact(JSON.stringify({ value: '+1 555-010-2030', name: 'mobilephone', format: 'phone', entityLogicalName: 'contact' }))`))
	waitFor(t, "click-to-dial", func() bool { _, ok := f.phone.callByNumber("+15550102030"); return ok })
	// The app's bridge requests run through Microsoft.CIFramework.
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The panel reports CIF ready (it then runs requests) with its user.
	waitFor(t, "the panel to report CIF ready", func() bool { ws := f.s.Widgets(); return len(ws) == 1 && ws[0].CIFReady })
	data, err := f.s.Request(rctx, "cif.call", map[string]any{"op": "search", "entity": "contact", "query": "?$filter=contains(mobilephone,'0102030')"})
	if err != nil {
		t.Fatal(err)
	}
	// cif-bridge.js hands back CIF's JSON string already parsed.
	var res map[string]map[string]string
	if json.Unmarshal(data, &res) != nil || res["0"]["fullname"] != "Ada Lovelace" || res["0"]["entity"] != "contact" {
		t.Fatalf("search result %s", data)
	}
	_, err = f.s.Request(rctx, "cif.call", map[string]any{"op": "retrieve", "entity": "contact", "recordId": "c-1"})
	var we *WidgetError
	if !errorsAs(err, &we) || we.Code != "cif_error" || !strings.Contains(we.Message, "record not found") {
		t.Fatalf("failing call: %v", err)
	}
	// Only the bridge's operations run.
	_, err = f.s.Request(rctx, "cif.call", map[string]any{"op": "constructor"})
	if !errorsAs(err, &we) || we.Code != "cif_error" || !strings.Contains(we.Message, "unknown bridge operation") {
		t.Fatalf("unknown operation: %v", err)
	}
}

// widgetFrame attaches to the widget's cross-site iframe.
func widgetFrame(t testing.TB, ctx context.Context, f *fixture) context.Context {
	t.Helper()
	var id string
	waitFor(t, "the widget iframe target", func() bool {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			return false
		}
		for _, in := range infos {
			if in.Type == "iframe" && strings.HasPrefix(in.URL, f.base+"/dyncrm") {
				id = string(in.TargetID)
				return true
			}
		}
		return false
	})
	fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(targetID(id)))
	t.Cleanup(cancel)
	return fctx
}

// A page that isn't a configured Dynamics origin can't frame the widget,
// can't read the API or the page (no CORS), can't open the WebSocket, and
// can't make a call with a simple cross-site POST.
func TestAttackFromAnotherPageInBrowser(t *testing.T) {
	needBrowser(t)
	f := browserFixture(t)
	channel, _ := f.s.ChannelURL(testCRM)
	api := f.base + "/api/v1"
	evil := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, framePage(channel)+`<script>
window.results = {};
fetch('`+f.base+`/', { credentials: 'include' }).then(r => r.text()).then(t => results.page = 'read ' + t.length).catch(e => results.page = 'blocked');
fetch('`+api+`/status', { headers: { Authorization: 'Bearer guess' } }).then(r => r.text()).then(t => results.status = 'read ' + t).catch(e => results.status = 'blocked');
fetch('`+api+`/calls', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"number":"1900"}' }).then(() => results.post = 'sent').catch(() => results.post = 'blocked');
try {
  const ws = new WebSocket('`+strings.Replace(api, "https", "wss", 1)+`/events', ['switchboard.v1']);
  ws.onopen = () => results.ws = 'open';
  ws.onerror = () => results.ws = 'blocked';
} catch (e) { results.ws = 'blocked'; }
</script>`)
	}))
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(evil+"/"))
	waitJS(t, ctx, `!!(window.results && results.page && results.status && results.post && results.ws)`)
	res, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`window.results`))
	if err != nil {
		t.Fatal(err)
	}
	if res["page"] != "blocked" || res["status"] != "blocked" || res["ws"] != "blocked" {
		t.Errorf("the attacker page got through: %v", res)
	}
	// The frame was refused by the browser (CSP frame-ancestors): the
	// iframe holds Chrome's error page, never our widget, and no widget
	// connected.
	frame := widgetFrame(t, ctx, f)
	var child string
	waitFor(t, "the iframe to settle", func() bool {
		child, err = chromedp.Run(frame, chromedp.Evaluate[string](`location.href + ' ' + document.readyState + ' widget=' + !!document.querySelector('#app')`))
		return err == nil && strings.Contains(child, "complete")
	})
	if !strings.HasPrefix(child, "chrome-error://") || strings.Contains(child, "widget=true") {
		t.Errorf("the widget loaded in a foreign frame: %s", child)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(f.s.Widgets()); n != 0 {
		t.Errorf("%d widgets connected from the attacker page", n)
	}
	calls, _, _ := f.phone.snapshot()
	if len(calls) != 0 {
		t.Errorf("the attacker placed a call: %v", calls)
	}
	t.Logf("attacker results: %v; frame: %s", res, child)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func targetID(s string) target.ID { return target.ID(s) }

// E1: the call log's Dynamics buttons follow the app's state as it comes
// and changes, without a reload: a shorter extension plan makes "1004" an
// external number with Dynamics actions of its own.
func TestWidgetCallLogFollowsDynamicsSettings(t *testing.T) {
	dyn := newFakeDynamics()
	f := browserFixture(t, func(o *Options) { o.CRM = dyn })
	f.phone.seedHistory()
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad")))
	do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="history"]`)))
	waitJS(t, ctx, `!!document.querySelector('.log-row[data-id="h10"] .log-crm') && !document.querySelector('.log-row[data-id="h9"] .log-crm')`)
	if r := f.api("PATCH", "/api/v1/crm/settings", map[string]any{"extensionDigits": 3}); r.status != 200 {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	st, _ := dyn.Settings(context.Background())
	f.s.PublishCRMSettings(st) // as the app does once its settings change
	waitJS(t, ctx, `!!document.querySelector('.log-row[data-id="h9"] .log-crm')`)
}

// The settings page keeps what the agent is typing, where she is and
// where she scrolled to while the app's state moves on: the Dynamics
// writes waiting count changes and another widget changes a setting.
func TestWidgetSettingsSurviveUpdates(t *testing.T) {
	dyn := newFakeDynamics()
	f := browserFixture(t, func(o *Options) { o.CRM = dyn })
	ctx := tab(t)
	do(t, ctx, chromedp.EmulateViewport(360, 720), chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS(".dialpad")))
	do(t, ctx, chromedp.Click(chromedp.CSS(`.nav-item[data-v="settings"]`)), chromedp.WaitVisible(chromedp.CSS("#crm-country")),
		chromedp.ScrollIntoView(chromedp.CSS("#crm-country")))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector('#crm-country'); e.focus(); e.select(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	top := func() float64 {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('.settings-scroll').scrollTop`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	top0 := top()
	if top0 == 0 {
		t.Fatal("the Dynamics settings should be scrolled to in a 360×720 panel")
	}
	do(t, ctx, chromedp.KeyEvent("U"))
	f.s.PublishCRMPending(2)
	waitJS(t, ctx, `(document.querySelector('.crm-pending-row') || {}).textContent === '2 changes waiting for Dynamics 365'`)
	if _, err := dyn.UpdateSettings(context.Background(), json.RawMessage(`{"autoExpand":false}`)); err != nil {
		t.Fatal(err)
	}
	st, _ := dyn.Settings(context.Background())
	f.s.PublishCRMSettings(st)
	time.Sleep(200 * time.Millisecond) // the settings reach the widget meanwhile
	do(t, ctx, chromedp.KeyEvent("S"))
	waitJS(t, ctx, `document.activeElement && document.activeElement.id === 'crm-country' && document.activeElement.value === 'US'`)
	if got := top(); got != top0 {
		t.Errorf("scrolled from %v to %v", top0, got)
	}
	// Leaving the field saves it; the other change shows then.
	do(t, ctx, chromedp.KeyEvent("\t"))
	waitFor(t, "the country saved", func() bool {
		st, _ := dyn.Settings(context.Background())
		return st.DefaultCountry == "US"
	})
	waitJS(t, ctx, `document.querySelector('#crm-expand').checked === false && document.querySelector('#crm-country').value === 'US'`)
	f.s.PublishCRMPending(0)
	waitJS(t, ctx, `!document.querySelector('.crm-pending-row')`)
	if got := top(); got != top0 {
		t.Errorf("scrolled from %v to %v after the redraw", top0, got)
	}
}
