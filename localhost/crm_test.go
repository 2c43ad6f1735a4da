package localhost

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"switchboard/crm/crmconf"
)

// fakeDynamics stands in for the app's CRM adapter so the HTTP layer and the
// widget's Dynamics screens can be driven here; the real integration
// (package crm, the app, the Dynamics host double) is proven end to end
// in cmd/switchboard-lab.
type fakeDynamics struct {
	mu       sync.Mutex
	settings CRMSettings
	infos    map[string]map[string]any
	order    []string
	pending  int
	actions  []string
	edits    []CRMActivityEdit
	ready    []json.RawMessage
	opps     []CRMRef
}

func newFakeDynamics() *fakeDynamics {
	return &fakeDynamics{settings: crmconf.Default(), infos: map[string]map[string]any{}}
}

// put sets a call's CRM state (the JSON of package crm's CallInfo).
func (c *fakeDynamics) put(info map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := info["callId"].(string)
	if _, ok := c.infos[id]; !ok {
		c.order = append(c.order, id)
	}
	c.infos[id] = info
}

func (c *fakeDynamics) Snapshot() CRMState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := CRMState{Settings: c.settings.Clone(), Pending: c.pending}
	for _, id := range c.order {
		st.Calls = append(st.Calls, c.infos[id])
	}
	return st
}

func (c *fakeDynamics) Settings(context.Context) (CRMSettings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings.Clone(), nil
}

func (c *fakeDynamics) UpdateSettings(_ context.Context, patch json.RawMessage) (CRMSettings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.settings.WithOverrides(patch)
	if err != nil {
		var fe *crmconf.FieldError
		if errorsAs(err, &fe) {
			return CRMSettings{}, &FieldError{Field: fe.JSON, Message: fe.Msg}
		}
		return CRMSettings{}, &FieldError{Field: "settings", Message: err.Error()}
	}
	c.settings = s
	return s.Clone(), nil
}

func (c *fakeDynamics) info(id string) (map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.infos[id]; ok {
		return i, nil
	}
	return nil, fmt.Errorf("call %s: %w", id, ErrCallNotFound)
}

func (c *fakeDynamics) Call(_ context.Context, id string) (any, error) { return c.info(id) }

func (c *fakeDynamics) act(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.actions = append(c.actions, s)
	return nil
}

func (c *fakeDynamics) OpenRecord(_ context.Context, id string) error {
	info, err := c.info(id)
	if err != nil {
		return err
	}
	if m, _ := info["matches"].([]any); len(m) == 0 {
		return fmt.Errorf("open record: %w: no Dynamics record matches this number", ErrInvalidState)
	}
	return c.act("open " + id)
}

func (c *fakeDynamics) Choose(_ context.Context, id string, r CRMRef) error {
	if _, err := c.info(id); err != nil {
		return err
	}
	return c.act("choose " + id + " " + r.Entity + ":" + r.ID)
}

func (c *fakeDynamics) AddRecord(_ context.Context, id, entity string) (CRMRef, error) {
	if _, err := c.info(id); err != nil {
		return CRMRef{}, err
	}
	if entity != "contact" && entity != "account" && entity != "lead" {
		return CRMRef{}, &FieldError{Field: "entity", Message: "use contact, account or lead"}
	}
	return CRMRef{Entity: entity, ID: "new"}, c.act("add " + id + " " + entity)
}

func (c *fakeDynamics) SaveActivity(_ context.Context, id string, ed CRMActivityEdit) error {
	if _, err := c.info(id); err != nil {
		return err
	}
	c.mu.Lock()
	c.edits = append(c.edits, ed)
	c.mu.Unlock()
	return nil
}

func (c *fakeDynamics) ActivityPage(_ context.Context, id string, open bool) error {
	return c.act(fmt.Sprintf("page %s %v", id, open))
}

func (c *fakeDynamics) SearchOpportunities(_ context.Context, text string) ([]CRMRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []CRMRef
	for _, o := range c.opps {
		if strings.Contains(strings.ToLower(o.Name), strings.ToLower(text)) {
			out = append(out, o)
		}
	}
	if text == "offline" {
		return nil, ErrCRMOffline
	}
	return out, nil
}

func (c *fakeDynamics) CIFReady(env json.RawMessage) {
	c.mu.Lock()
	c.ready = append(c.ready, env)
	c.mu.Unlock()
}

// Canned call states for the screens.
func crmRec(entity, id, name string) map[string]any {
	return map[string]any{"entity": entity, "id": id, "name": name}
}

func crmInfo(callID, e164 string, matches []any, extra map[string]any) map[string]any {
	m := map[string]any{
		"callId": callID, "number": map[string]any{"raw": e164, "kind": "e164", "e164": e164, "digits": strings.TrimPrefix(e164, "+")},
		"matched": true, "matches": matches,
		"activity": map[string]any{"id": "pc-" + callID, "subject": "", "description": "", "queued": false},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// The CRM endpoints guard their input and answer with the right status.
func TestCRMAPI(t *testing.T) {
	c := newFakeDynamics()
	c.opps = []CRMRef{{Entity: "opportunity", ID: "o1", Name: "PBX upgrade 2025"}}
	c.put(crmInfo("c1", "+8613812345678", []any{crmRec("contact", "z1", "Zhang San")}, nil))
	f := newFixture(t, func(o *Options) { o.CRM = c })

	r := f.api("GET", "/api/v1/crm/settings", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"matchMode":"exact"`) {
		t.Fatalf("settings: %d %s", r.status, r.body)
	}
	w := f.widget()
	w.next("state")
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		want         string
	}{
		{"PATCH", "/api/v1/crm/settings", map[string]any{"matchMode": "last_digits", "matchDigits": 7}, 200, `"matchDigits":7`},
		{"PATCH", "/api/v1/crm/settings", map[string]any{"matchDigits": 2}, 422, `"field":"matchDigits"`},
		{"PATCH", "/api/v1/crm/settings", map[string]any{"matchModus": "exact"}, 422, `unknown field`},
		{"PATCH", "/api/v1/crm/settings", []int{1}, 400, `bad_json`},
		{"GET", "/api/v1/crm/calls/c1", nil, 200, `"name":"Zhang San"`},
		{"GET", "/api/v1/crm/calls/nope", nil, 404, `call_not_found`},
		{"POST", "/api/v1/crm/calls/c1/open", nil, 204, ``},
		{"POST", "/api/v1/crm/calls/c1/choose", map[string]any{"entity": "contact", "id": "z1"}, 204, ``},
		{"POST", "/api/v1/crm/calls/c1/choose", map[string]any{"entity": "contact"}, 422, `"field":"id"`},
		{"POST", "/api/v1/crm/calls/c1/add", map[string]any{"entity": "lead"}, 202, `"entity":"lead"`},
		{"POST", "/api/v1/crm/calls/c1/add", map[string]any{"entity": "case"}, 422, `"field":"entity"`},
		{"POST", "/api/v1/crm/calls/c1/page", map[string]any{"open": true}, 204, ``},
		{"POST", "/api/v1/crm/calls/c1/page", map[string]any{}, 422, `"field":"open"`},
		{"POST", "/api/v1/crm/calls/c1/delete", nil, 404, ``},
		{"PUT", "/api/v1/crm/calls/c1/activity", map[string]any{"subject": "Follow-up", "regarding": map[string]any{"entity": "opportunity", "id": "o1"}}, 204, ``},
		{"PUT", "/api/v1/crm/calls/c1/activity", map[string]any{"subject": strings.Repeat("x", 201)}, 422, `"field":"subject"`},
		{"PUT", "/api/v1/crm/calls/c1/activity", map[string]any{"subject": "x", "evil": 1}, 400, ``},
		{"GET", "/api/v1/crm/opportunities?q=pbx", nil, 200, `"name":"PBX upgrade 2025"`},
		{"GET", "/api/v1/crm/opportunities?q=", nil, 422, `"field":"q"`},
		{"GET", "/api/v1/crm/opportunities?q=offline", nil, 503, `crm_offline`},
	} {
		r := f.api(tc.method, tc.path, tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tc.method, tc.path, r.status, r.body, tc.status, tc.want)
		}
	}
	if len(c.edits) != 1 || *c.edits[0].Subject != "Follow-up" || c.edits[0].Regarding.ID != "o1" {
		t.Errorf("edits %+v", c.edits)
	}
	// Every widget follows the app's pushes.
	f.s.PublishCRMPending(3)
	if m := w.next("crm.pending"); m["count"] != float64(3) {
		t.Errorf("pending push %v", m)
	}
	f.s.PublishCRMCall(map[string]any{"callId": "c1"})
	if m := w.next("crm.call"); m["info"].(map[string]any)["callId"] != "c1" {
		t.Errorf("call push %v", m)
	}
	// The API without the integration: 404, not a crash.
	g := newFixture(t)
	if r := g.api("GET", "/api/v1/crm/settings", nil); r.status != 404 {
		t.Errorf("no CRM: %d", r.status)
	}
	// The first state carries the CRM part.
	st := f.api("GET", "/api/v1/status", nil)
	if !strings.Contains(string(st.body), `"crm":{"settings":`) || !strings.Contains(string(st.body), `"tabs":0`) {
		t.Errorf("status %s", st.body)
	}
}
