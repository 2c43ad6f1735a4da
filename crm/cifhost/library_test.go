package cifhost_test

import (
	"context"
	"encoding/json"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/crm/cifhost"
	"switchboard/crm/cifhost/cifbrowser"
)

func newLab(t *testing.T, o cifbrowser.LabOptions) *cifbrowser.Lab {
	t.Helper()
	if _, err := cifbrowser.ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	l, err := cifbrowser.NewLab(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range l.Console() {
				t.Log(c)
			}
		}
		l.Close()
	})
	return l
}

// libraryPage is a widget that loads the library as the documentation
// says and runs script once CIFInitDone fires; script fills `out` and
// calls report().
func libraryPage(base, script string) string {
	b := html.EscapeString(base)
	return `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>
var out = {};
function report() {
  return fetch("/report", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(out) });
}
window.addEventListener("CIFInitDone", function (e) {
  out.initDetail = e.detail;
  var C = Microsoft.CIFramework;
  (function () {` + script + `})();
});
</script>
<script src="` + b + `/webresources/Widget/msdyn_ciLibrary.js" data-crmurl="` + b + `" data-cifid="CIFMainLibrary"></script>
</body></html>`
}

func waitReport(t *testing.T, l *cifbrowser.Lab, n int, d time.Duration) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(d)
	for len(l.Widget.Reports()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no report from the page after %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var out []map[string]any
	for _, r := range l.Widget.Reports() {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

const apiScript = `
  out.addHandlerReturns = typeof C.addHandler("onclicktoact", function (d) {
    out.clickType = typeof d; out.click = JSON.parse(d); report();
    return Promise.resolve("dialled");
  });
  C.setClickToAct(true)
  .then(function (v) { out.setClickToAct = v;
    return C.searchAndOpenRecords("contact", "?$select=fullname,mobilephone&$filter=contains(mobilephone,'1111')%20or%20contains(telephone2,'1111')", true); })
  .then(function (r) {
    out.searchType = typeof r; var p = JSON.parse(r);
    out.searchIsArray = Array.isArray(p); out.searchKeys = Object.keys(p); out.searchLength = p.length;
    out.searchNames = [p[0].fullname, p[1].fullname];
    return C.searchAndOpenRecords("contact", "?$select=fullname&$filter=contains(mobilephone,'+86')", true); })
  .then(function (r) { out.plusSearch = JSON.parse(r);
    return C.createRecord("contact", JSON.stringify({ lastname: "Created In Test", telephone1: "+86 10 1234 0000" })); })
  .then(function (r) { out.createType = typeof r; out.created = JSON.parse(r);
    return C.createRecord("contact", JSON.stringify({ lastname: "x", mobilePhone: "1" })).then(
      function () { out.badCreate = "resolved"; },
      function (e) { out.badCreateType = typeof e; out.badCreate = JSON.parse(e); }); })
  .then(function () {
    return C.updateRecord("contact", out.created.id, JSON.stringify({ jobtitle: "Buyer" })); })
  .then(function (r) { out.update = JSON.parse(r);
    return C.retrieveRecord("contact", out.created.id, "?$select=fullname,jobtitle"); })
  .then(function (r) { out.retrieveType = typeof r; out.retrieved = JSON.parse(r);
    return C.getEnvironment(); })
  .then(function (r) { out.envType = typeof r; out.env = JSON.parse(r);
    return C.setMode(0); })
  .then(function (v) { out.setMode = v; return C.getMode(); })
  .then(function (v) { out.mode = v; return C.setMode(1); })
  .then(function () { return C.renderSearchPage("contact", "139 0000 1111"); })
  .then(function (v) { out.render = v; return C.openForm(JSON.stringify({ entityName: "contact", entityId: out.created.id })); })
  .then(function (r) { out.openFormType = typeof r; out.openForm = JSON.parse(r);
    return C.getEnvironment(); })
  .then(function (r) { out.envAfter = JSON.parse(r);
    return C.setMode(7).then(function () { out.badMode = "resolved"; }, function (e) { out.badModeType = typeof e; }); })
  .then(function () { out.done = true; return report(); })
  .catch(function (e) { out.error = String(e); report(); });
`

func TestLibraryInChromium(t *testing.T) {
	l := newLab(t, cifbrowser.LabOptions{Sample: true})
	l.Host.SetWidgetURL(l.Widget.AddPage("api", libraryPage(l.Host.URL(), apiScript)))
	ctx, cancel, err := l.OpenTab("")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	rep := waitReport(t, l, 1, 30*time.Second)[0]
	if rep["error"] != nil || rep["done"] != true {
		t.Fatalf("page failed: %v", rep)
	}
	check := func(name string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s = %s, want %s", name, g, w)
		}
	}
	check("CIFInitDone detail", rep["initDetail"], []string{"https://crm.test"})
	check("addHandler returns", rep["addHandlerReturns"], "undefined")
	check("setClickToAct", rep["setClickToAct"], nil)
	check("search type", rep["searchType"], "string")
	check("search is array", rep["searchIsArray"], false)
	check("search keys", rep["searchKeys"], []string{"0", "1"})
	check("search .length", rep["searchLength"], nil)
	check("search names", rep["searchNames"], []string{"Wang Fang", "Chen Jie"})
	check("unencoded + search", rep["plusSearch"], map[string]any{})
	check("create type", rep["createType"], "string")
	created := rep["created"].(map[string]any)
	check("create entityType", created["entityType"], "contact")
	check("create rejection type", rep["badCreateType"], "string")
	if msg, _ := rep["badCreate"].(map[string]any)["message"].(string); !strings.Contains(msg, "mobilePhone") {
		t.Errorf("bad create message = %v", rep["badCreate"])
	}
	check("update", rep["update"], map[string]any{"entityType": "contact", "id": created["id"]})
	check("retrieve type", rep["retrieveType"], "string")
	check("retrieved", rep["retrieved"].(map[string]any)["jobtitle"], "Buyer")
	check("env type", rep["envType"], "string")
	env := rep["env"].(map[string]any)
	check("userId", env["userId"], "{"+strings.ToUpper(l.Host.Dataverse().UserID())+"}")
	check("clientUrl", env["clientUrl"], "https://crm.test")
	check("setMode", rep["setMode"], nil)
	check("getMode", rep["mode"], 0)
	check("renderSearchPage", rep["render"], nil)
	check("openForm type", rep["openFormType"], "string")
	check("openForm", rep["openForm"], map[string]any{"savedEntityReference": []any{}})
	envAfter := rep["envAfter"].(map[string]any)
	check("page after openForm", []any{envAfter["pagetype"], envAfter["etn"], envAfter["id"]}, []any{"entityrecord", "contact", created["id"]})
	check("bad setMode rejection", rep["badModeType"], "string")

	// The host saw the calls, persisted click-to-act and the handler.
	for _, typ := range []string{"setclicktoact", "search", "createrecord", "updaterecord", "retrieverecord", "getenvironment", "setmode", "renderSearchPage", "openform", "addGenericHandler"} {
		waitFor(t, "the host to log "+typ, func() bool { return len(l.Host.Requests(typ)) > 0 })
	}
	if n := len(l.Host.Dataverse().Records("contact")); n != 6 {
		t.Errorf("%d contacts, want the sample's 5 and the created one", n)
	}
	// The page shows the opened record; its phone field raises
	// onclicktoact, which the widget's handler receives as a JSON string.
	var title string
	waitFor(t, "the record page", func() bool {
		title, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main h1") || {}).textContent || ""`))
		return title == "Created In Test"
	})
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	if err := chromedp.Do(cctx, chromedp.Click(chromedp.CSS(`button[data-clicktoact="telephone1"]`))); err != nil {
		t.Fatal(err)
	}
	rep = waitReport(t, l, 2, 10*time.Second)[1]
	check("click type", rep["clickType"], "string")
	check("click payload", rep["click"], map[string]any{"value": "+86 10 1234 0000", "name": "telephone1", "format": "phone", "entityLogicalName": "contact"})
	waitFor(t, "the handler's answer", func() bool { return len(l.Host.Requests("eventResponse")) > 0 })
	r := l.Host.Requests("eventResponse")[0]
	if r.Outcome != "success" || !strings.Contains(string(r.Data), `"dialled"`) {
		t.Errorf("handler answer = %+v", r)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The real library's timeout is 10 s, and it posts to the org without
// its port: a host on another port never hears the widget.
func TestLibraryTimeoutAndPortQuirk(t *testing.T) {
	l := newLab(t, cifbrowser.LabOptions{Sample: true})
	l.Host.Dataverse().Inject(cifhost.Fault{Op: "query", Delay: 12 * time.Second})
	timeoutScript := `
  var t0 = Date.now();
  C.searchAndOpenRecords("contact", "?$select=fullname", true).then(
    function () { out.outcome = "resolved"; report(); },
    function (e) { out.outcome = "rejected"; out.type = typeof e; out.err = JSON.parse(e); out.ms = Date.now() - t0; out.page = "timeout"; report(); });
`
	l.Host.SetWidgetURL(l.Widget.AddPage("timeout", libraryPage(l.Host.URL(), timeoutScript)))
	_, cancel1, err := l.OpenTab("")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel1()
	// The same host reached as https://crm.test:8443: the library drops
	// the port, the top page's origin keeps it, the browser drops the
	// messages, and even getEnvironment times out.
	quirkBase := "https://crm.test:8443"
	quirkScript := `
  C.getEnvironment().then(
    function () { out.outcome = "resolved"; out.page = "quirk"; report(); },
    function (e) { out.outcome = "rejected"; out.err = JSON.parse(e); out.page = "quirk"; report(); });
`
	l.Host.SetWidgetURL(l.Widget.AddPage("quirk", libraryPage(quirkBase, quirkScript)))
	ctx2, cancel2 := chromedp.NewContext(l.Browser)
	defer cancel2()
	if err := chromedp.Do(ctx2); err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx2, 30*time.Second)
	defer tcancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(quirkBase+"/main.aspx"), chromedp.WaitReady(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	reps := waitReport(t, l, 2, 40*time.Second)
	for _, r := range reps {
		if r["outcome"] != "rejected" {
			t.Errorf("%v page: %v", r["page"], r)
			continue
		}
		if msg := r["err"].(map[string]any)["message"]; msg != "Timeout occurred as no response was received from listener window" {
			t.Errorf("%v page: rejection %v", r["page"], msg)
		}
		if r["page"] == "timeout" {
			if ms := r["ms"].(float64); ms < 9500 || ms > 11900 {
				t.Errorf("timed out after %.0f ms, want about 10 000", ms)
			}
			if r["type"] != "string" {
				t.Errorf("rejection type %v", r["type"])
			}
		}
	}
	if n := len(l.Host.Requests("getenvironment")); n != 0 {
		t.Errorf("the host answered %d getEnvironment calls across the port mismatch", n)
	}
}

// KeepPort (the demo's deviation) lets a host on another port work.
func TestKeepPortDeviation(t *testing.T) {
	l := newLab(t, cifbrowser.LabOptions{Sample: true, Host: func(o *cifhost.Options) { o.KeepPort = true }})
	if !strings.HasPrefix(l.Host.URL(), "https://crm.test:") {
		t.Fatalf("URL %s has no port", l.Host.URL())
	}
	_, cancel, err := l.OpenTab("")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	ctx, c := context.WithTimeout(context.Background(), 20*time.Second)
	defer c()
	if err := l.WaitReadyTabs(ctx, 1); err != nil {
		t.Fatal(err)
	}
}
