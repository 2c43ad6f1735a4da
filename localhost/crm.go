package localhost

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"switchboard/crm/crmconf"
)

// CRM is the Dynamics 365 integration as the widget's API needs it. The
// app satisfies it with a thin adapter over package crm; this package
// only guards and relays (it must not import crm itself: the rules live
// there).
//
// Errors: wrap ErrCallNotFound (the call is unknown), ErrInvalidState
// (the action does not apply: no match, creation turned off, an internal
// number), ErrCRMOffline (no Dynamics tab can run it now) or return a
// *FieldError; anything else is reported as 502 with its message.
type CRM interface {
	// Snapshot is the integration's state for a freshly connected widget:
	// settings, pending writes and the live calls' CRM state.
	Snapshot() CRMState
	// Settings are the agent's settings in force (presets plus the
	// agent's own changes).
	Settings(ctx context.Context) (CRMSettings, error)
	// UpdateSettings applies the agent's changes (a JSON object with any
	// subset of the settings' JSON names), saves them and applies them at
	// once; a bad value is a *FieldError naming the JSON key.
	UpdateSettings(ctx context.Context, patch json.RawMessage) (CRMSettings, error)
	// Call is a call's CRM state (package crm's CallInfo).
	Call(ctx context.Context, callID string) (any, error)
	OpenRecord(ctx context.Context, callID string) error
	Choose(ctx context.Context, callID string, r CRMRef) error
	AddRecord(ctx context.Context, callID, entity string) (CRMRef, error)
	SaveActivity(ctx context.Context, callID string, ed CRMActivityEdit) error
	ActivityPage(ctx context.Context, callID string, open bool) error
	SearchOpportunities(ctx context.Context, text string) ([]CRMRef, error)
	// CIFReady: a widget inside Dynamics has the CIF library up; env is
	// its getEnvironment (userId without braces). Called in its own
	// goroutine.
	CIFReady(env json.RawMessage)
}

// CRMSettings are the Dynamics integration settings (SPEC B4, C1–C5).
type CRMSettings = crmconf.Settings

// CRMState is the "crm" part of the widget's first state message.
type CRMState struct {
	Settings CRMSettings `json:"settings"`
	Pending  int         `json:"pending"`
	Calls    []any       `json:"calls"`
	// Tabs counts the Dynamics panels able to run CIF calls now (the
	// server fills it in).
	Tabs int `json:"tabs"`
}

// CRMRef names a Dynamics record.
type CRMRef struct {
	Entity string `json:"entity"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
}

// CRMActivityEdit is what the agent changed on the call activity page;
// nil fields are left as they are.
type CRMActivityEdit struct {
	Subject        *string `json:"subject,omitempty"`
	Description    *string `json:"description,omitempty"`
	Regarding      *CRMRef `json:"regarding,omitempty"`
	ClearRegarding bool    `json:"clearRegarding,omitempty"`
	Party          *CRMRef `json:"party,omitempty"`
}

// ErrCRMOffline means no Dynamics tab is connected to run the request.
var ErrCRMOffline = errors.New("no Dynamics 365 tab with the Switchboard panel is connected: open Dynamics 365 and try again")

// Limits on what the widget sends for the CRM.
const (
	maxSubject     = 200  // phonecall.subject
	maxDescription = 2000 // phonecall.description
	maxSearchText  = 100
)

// Messages pushed to every widget.
type crmCallMessage struct {
	Type string `json:"type"` // crm.call
	Info any    `json:"info"`
}

type crmPendingMessage struct {
	Type  string `json:"type"` // crm.pending
	Count int    `json:"count"`
}

type crmSettingsMessage struct {
	Type     string      `json:"type"` // crm.settings
	Settings CRMSettings `json:"settings"`
}

// PublishCRMCall sends a call's CRM state (package crm's CallInfo) to
// every widget.
func (s *Server) PublishCRMCall(info any) { s.broadcast(crmCallMessage{Type: "crm.call", Info: info}) }

// PublishCRMPending sends the number of CRM writes not yet in Dynamics to
// every widget.
func (s *Server) PublishCRMPending(n int) {
	s.broadcast(crmPendingMessage{Type: "crm.pending", Count: n})
}

// PublishCRMSettings sends the CRM settings in force to every widget.
func (s *Server) PublishCRMSettings(st CRMSettings) {
	s.broadcast(crmSettingsMessage{Type: "crm.settings", Settings: st})
}

func (s *Server) broadcast(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding a widget message", "err", err)
		return
	}
	s.hub.mu.Lock()
	conns := make([]*widgetConn, 0, len(s.hub.conns))
	for c := range s.hub.conns {
		conns = append(conns, c)
	}
	s.hub.mu.Unlock()
	for _, c := range conns {
		c.enqueue(b)
	}
}

func (s *Server) crmOr404(w http.ResponseWriter) (CRM, bool) {
	if s.opts.CRM == nil {
		writeError(w, http.StatusNotFound, "crm_disabled", "the Dynamics 365 integration is not part of this app")
		return nil, false
	}
	return s.opts.CRM, true
}

// crmError answers with the status that fits err.
func (s *Server) crmError(w http.ResponseWriter, r *http.Request, err error) {
	if answerKnown(w, r, err, ErrCRMOffline, "crm_offline", "Dynamics 365 did not answer in time; try again") {
		return
	}
	s.log.Warn("CRM request failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusBadGateway, "crm_error", err.Error())
}

func (s *Server) getCRMSettings(w http.ResponseWriter, r *http.Request) {
	c, ok := s.crmOr404(w)
	if !ok {
		return
	}
	st, err := c.Settings(r.Context())
	if err != nil {
		s.crmError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) patchCRMSettings(w http.ResponseWriter, r *http.Request) {
	c, ok := s.crmOr404(w)
	if !ok {
		return
	}
	var patch map[string]json.RawMessage
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &patch); err != nil {
		writeDecodeError(w, err)
		return
	}
	if patch == nil {
		writeError(w, http.StatusBadRequest, "bad_json", "send a JSON object of the settings to change")
		return
	}
	raw, _ := json.Marshal(patch)
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	st, err := c.UpdateSettings(ctx, raw)
	if err != nil {
		s.crmError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// crmCallOf is the CRM and the call id of a /crm/calls/{id} request;
// ok is false once it has answered the request itself.
func (s *Server) crmCallOf(w http.ResponseWriter, r *http.Request) (CRM, string, bool) {
	c, ok := s.crmOr404(w)
	if !ok {
		return nil, "", false
	}
	id, ok := callID(w, r)
	return c, id, ok
}

func (s *Server) crmCall(w http.ResponseWriter, r *http.Request) {
	c, id, ok := s.crmCallOf(w, r)
	if !ok {
		return
	}
	// A past call is recalled: its number searched, its activity read.
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	info, err := c.Call(ctx, id)
	if err != nil {
		s.crmError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// crmAction runs one of the call card's CRM actions.
func (s *Server) crmAction(w http.ResponseWriter, r *http.Request) {
	c, id, ok := s.crmCallOf(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	var body struct {
		// choose
		Entity string `json:"entity,omitempty"`
		ID     string `json:"id,omitempty"`
		Name   string `json:"name,omitempty"`
		// activity page
		Open *bool `json:"open,omitempty"`
	}
	action := strings.TrimPrefix(r.URL.Path[strings.LastIndex(r.URL.Path, "/"):], "/")
	if r.ContentLength != 0 {
		if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &body); err != nil {
			writeDecodeError(w, err)
			return
		}
	}
	var err error
	switch action {
	case "open":
		err = c.OpenRecord(ctx, id)
	case "choose":
		if body.Entity == "" || body.ID == "" {
			fieldError(w, "id", "give the record's entity and id")
			return
		}
		err = c.Choose(ctx, id, CRMRef{Entity: body.Entity, ID: body.ID, Name: clipText(body.Name, 200)})
	case "add":
		var ref CRMRef
		if ref, err = c.AddRecord(ctx, id, body.Entity); err == nil {
			writeJSON(w, http.StatusAccepted, ref)
			return
		}
	case "page":
		if body.Open == nil {
			fieldError(w, "open", `give "open": true or false`)
			return
		}
		err = c.ActivityPage(ctx, id, *body.Open)
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such CRM action")
		return
	}
	if err != nil {
		s.crmError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) saveActivity(w http.ResponseWriter, r *http.Request) {
	c, id, ok := s.crmCallOf(w, r)
	if !ok {
		return
	}
	var ed CRMActivityEdit
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &ed); err != nil {
		writeDecodeError(w, err)
		return
	}
	if ed.Subject != nil && utf8.RuneCountInString(*ed.Subject) > maxSubject {
		fieldError(w, "subject", "the subject is longer than 200 characters")
		return
	}
	if ed.Description != nil && utf8.RuneCountInString(*ed.Description) > maxDescription {
		fieldError(w, "description", "the description is longer than 2000 characters")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	if err := c.SaveActivity(ctx, id, ed); err != nil {
		s.crmError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) searchOpportunities(w http.ResponseWriter, r *http.Request) {
	c, ok := s.crmOr404(w)
	if !ok {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || utf8.RuneCountInString(q) > maxSearchText {
		fieldError(w, "q", "give 1 to 100 characters of the opportunity's topic")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	refs, err := c.SearchOpportunities(ctx, q)
	if err != nil {
		s.crmError(w, r, err)
		return
	}
	if refs == nil {
		refs = []CRMRef{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"opportunities": refs})
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// CRMSettings reads the Dynamics settings in force.
func (c *Client) CRMSettings(ctx context.Context) (CRMSettings, error) {
	var st CRMSettings
	err := c.do(ctx, http.MethodGet, "/api/v1/crm/settings", nil, &st)
	return st, err
}

// UpdateCRMSettings changes the given Dynamics settings (JSON names, e.g.
// {"matchMode": "last_digits"}) as the agent would.
func (c *Client) UpdateCRMSettings(ctx context.Context, patch map[string]any) (CRMSettings, error) {
	var st CRMSettings
	err := c.do(ctx, http.MethodPatch, "/api/v1/crm/settings", patch, &st)
	return st, err
}

// CRMCall reads a call's CRM state (package crm's CallInfo as JSON).
func (c *Client) CRMCall(ctx context.Context, callID string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, "/api/v1/crm/calls/"+url.PathEscape(callID), nil, &raw)
	return raw, err
}
