package localhost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"switchboard/app"
)

// apiTimeout bounds one API call into the phone, so a stuck PBX can't
// pile up requests.
const apiTimeout = 30 * time.Second

// Status is GET /api/v1/status and the first WebSocket message's state.
type Status struct {
	Version string `json:"version"`
	State
	Devices    []AudioDevice `json:"devices"`
	CRMOrigins []string      `json:"crmOrigins"`
	Widgets    int           `json:"widgets"` // connected widgets
	CRM        *CRMState     `json:"crm,omitempty"`
}

func (s *Server) status(ctx context.Context) Status {
	st := Status{Version: s.opts.Version, State: s.phone.State(), CRMOrigins: s.origins, Widgets: s.hub.count()}
	if st.Calls == nil {
		st.Calls = []app.Call{}
	}
	if st.CRMOrigins == nil {
		st.CRMOrigins = []string{}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	devs, err := s.phone.AudioDevices(ctx)
	if err != nil {
		s.log.Warn("listing audio devices", "err", err)
	}
	if devs == nil {
		devs = []AudioDevice{}
	}
	st.Devices = devs
	if s.opts.CRM != nil {
		c := s.opts.CRM.Snapshot()
		if c.Calls == nil {
			c.Calls = []any{}
		}
		c.Tabs = s.cifTabs()
		st.CRM = &c
	}
	return st
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.status(r.Context()))
}

// phoneError answers with the status that fits err.
func (s *Server) phoneError(w http.ResponseWriter, r *http.Request, err error) {
	if answerKnown(w, r, err, ErrNotRegistered, "not_registered", "the phone did not answer in time; try again") {
		return
	}
	s.log.Error("phone error", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "phone_error", err.Error())
}

// answerKnown answers the errors every route of the API shares: a bad
// field, no such call, the wrong state, the route's own "not available
// now" (unavailable, as code), a timeout (with timeoutMsg) and a client
// that went away. It reports false for an error the route must answer.
func answerKnown(w http.ResponseWriter, r *http.Request, err, unavailable error, code, timeoutMsg string) bool {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{APIError{Code: "invalid_field", Message: fe.Message, Field: fe.Field}})
	case errors.Is(err, ErrCallNotFound):
		writeError(w, http.StatusNotFound, "call_not_found", err.Error())
	case errors.Is(err, ErrInvalidState):
		writeError(w, http.StatusConflict, "invalid_state", err.Error())
	case errors.Is(err, unavailable):
		writeError(w, http.StatusServiceUnavailable, code, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "timeout", timeoutMsg)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		return false
	}
	return true
}

func fieldError(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, errorBody{APIError{Code: "invalid_field", Message: msg, Field: field}})
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	calls := s.phone.State().Calls
	if calls == nil {
		calls = []app.Call{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
}

// DialRequest is POST /api/v1/calls.
type DialRequest struct {
	Number string `json:"number"`
}

func (s *Server) dial(w http.ResponseWriter, r *http.Request) {
	var req DialRequest
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	num, err := NormalizeNumber(req.Number)
	if err != nil {
		fieldError(w, "number", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	call, err := s.phone.Dial(ctx, num)
	if err != nil {
		s.phoneError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/calls/"+url.PathEscape(call.ID))
	writeJSON(w, http.StatusCreated, call)
}

func callID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := mux.Vars(r)["id"]
	if !validID(id) {
		writeError(w, http.StatusNotFound, "call_not_found", "no such call")
		return "", false
	}
	return id, true
}

func (s *Server) callAction(w http.ResponseWriter, r *http.Request) {
	id, ok := callID(w, r)
	if !ok {
		return
	}
	// These actions take no body; refuse one rather than ignore it.
	if r.ContentLength > 0 {
		var empty struct{}
		if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &empty); err != nil {
			writeDecodeError(w, err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	var err error
	switch mux.Vars(r)["action"] {
	case "answer":
		err = s.phone.Answer(ctx, id)
	case "decline":
		err = s.phone.Decline(ctx, id)
	case "hangup":
		err = s.phone.Hangup(ctx, id)
	case "hold":
		err = s.phone.Hold(ctx, id)
	case "resume":
		err = s.phone.Resume(ctx, id)
	}
	if err != nil {
		s.phoneError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// MuteRequest is POST /api/v1/calls/{id}/mute.
type MuteRequest struct {
	On *bool `json:"on"`
}

func (s *Server) mute(w http.ResponseWriter, r *http.Request) {
	id, ok := callID(w, r)
	if !ok {
		return
	}
	var req MuteRequest
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	if req.On == nil {
		fieldError(w, "on", "say true to mute or false to unmute")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	if err := s.phone.Mute(ctx, id, *req.On); err != nil {
		s.phoneError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DTMFRequest is POST /api/v1/calls/{id}/dtmf.
type DTMFRequest struct {
	Digits string `json:"digits"`
}

func (s *Server) dtmf(w http.ResponseWriter, r *http.Request) {
	id, ok := callID(w, r)
	if !ok {
		return
	}
	var req DTMFRequest
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	if !validDTMF(req.Digits) {
		fieldError(w, "digits", "use 1 to 32 of 0-9 * # A-D")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	if err := s.phone.SendDTMF(ctx, id, strings.ToUpper(req.Digits)); err != nil {
		s.phoneError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Filters the call log accepts.
var (
	historyDirections   = []string{"inbound", "outbound"}
	historyDispositions = []string{"answered", "missed", "declined", "busy", "no-answer", "failed", "cancelled"}
)

const (
	defaultHistoryLimit = 50
	maxHistoryLimit     = 500
)

// parseHistoryQuery reads GET /api/v1/history's parameters strictly: an
// unknown parameter or a bad value is an error naming it.
func parseHistoryQuery(v url.Values) (HistoryQuery, *FieldError) {
	q := HistoryQuery{Limit: defaultHistoryLimit}
	for k, vals := range v {
		if k == "" || len(k) > 32 {
			return q, &FieldError{"query", "unknown parameter (use q, direction, disposition, from, to, limit, offset)"}
		}
		if len(vals) != 1 {
			return q, &FieldError{k, "give this parameter once"}
		}
		val := vals[0]
		switch k {
		case "q":
			if len(val) > 200 {
				return q, &FieldError{k, "the search text is too long"}
			}
			q.Search = strings.TrimSpace(val)
		case "direction":
			if val != "" && !slices.Contains(historyDirections, val) {
				return q, &FieldError{k, "use inbound or outbound"}
			}
			q.Direction = val
		case "disposition":
			if val != "" && !slices.Contains(historyDispositions, val) {
				return q, &FieldError{k, "use one of " + strings.Join(historyDispositions, ", ")}
			}
			q.Disposition = val
		case "from", "to":
			if val == "" {
				continue
			}
			t, err := parseTimeParam(val, k == "to")
			if err != nil {
				return q, &FieldError{k, "use a date (2006-01-02) or an RFC 3339 time"}
			}
			if k == "from" {
				q.From = t
			} else {
				q.To = t
			}
		case "limit", "offset":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || (k == "limit" && (n < 1 || n > maxHistoryLimit)) || n > 1_000_000 {
				return q, &FieldError{k, fmt.Sprintf("use a whole number (limit 1-%d)", maxHistoryLimit)}
			}
			if k == "limit" {
				q.Limit = n
			} else {
				q.Offset = n
			}
		default:
			return q, &FieldError{k, "unknown parameter (use q, direction, disposition, from, to, limit, offset)"}
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return q, &FieldError{"to", "the end is before the start"}
	}
	return q, nil
}

// parseTimeParam accepts a date (a whole local day: its start for "from",
// the start of the next day for "to") or an RFC 3339 time.
func parseTimeParam(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return time.Time{}, err
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	q, fe := parseHistoryQuery(r.URL.Query())
	if fe != nil {
		fieldError(w, fe.Field, fe.Message)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	page, err := s.phone.History(ctx, q)
	if err != nil {
		s.phoneError(w, r, err)
		return
	}
	if page.Calls == nil {
		page.Calls = []HistoryRecord{}
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.phone.Settings(r.Context())
	if err != nil {
		s.phoneError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// validatePatch checks what the server can check itself; the phone checks
// the rest (and device names against the devices it sees).
func (s *Server) validatePatch(ctx context.Context, p SettingsPatch) *FieldError {
	if p.Language != nil {
		switch *p.Language {
		case "", "en", "zh-CN":
		default:
			return &FieldError{"language", "use en or zh-CN, or empty to follow the browser"}
		}
	}
	if p.Mic == nil && p.Speaker == nil && p.Ringer == nil {
		return nil
	}
	devs, err := s.phone.AudioDevices(ctx)
	if err != nil {
		return nil // let the phone decide
	}
	check := func(field string, name *string, input bool) *FieldError {
		if name == nil || *name == "" {
			return nil
		}
		for _, d := range devs {
			if d.Name == *name && ((input && d.Input) || (!input && d.Output)) {
				return nil
			}
		}
		kind := "output"
		if input {
			kind = "input"
		}
		return &FieldError{field, fmt.Sprintf("no %s device named %q is connected", kind, *name)}
	}
	if fe := check("mic", p.Mic, true); fe != nil {
		return fe
	}
	if fe := check("speaker", p.Speaker, false); fe != nil {
		return fe
	}
	return check("ringer", p.Ringer, false)
}

func (s *Server) applySettings(w http.ResponseWriter, r *http.Request, p SettingsPatch) (Settings, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	if fe := s.validatePatch(ctx, p); fe != nil {
		fieldError(w, fe.Field, fe.Message)
		return Settings{}, false
	}
	st, err := s.phone.UpdateSettings(ctx, p)
	if err != nil {
		s.phoneError(w, r, err)
		return Settings{}, false
	}
	return st, true
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request) {
	var p SettingsPatch
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &p); err != nil {
		writeDecodeError(w, err)
		return
	}
	if st, ok := s.applySettings(w, r, p); ok {
		writeJSON(w, http.StatusOK, st)
	}
}

// DeviceSelection is the chosen device per role (PUT /api/v1/audio/selection).
type DeviceSelection struct {
	Mic     *string `json:"mic,omitempty"`
	Speaker *string `json:"speaker,omitempty"`
	Ringer  *string `json:"ringer,omitempty"`
}

type devicesResponse struct {
	Devices  []AudioDevice `json:"devices"`
	Selected struct {
		Mic     string `json:"mic"`
		Speaker string `json:"speaker"`
		Ringer  string `json:"ringer"`
	} `json:"selected"`
}

func (s *Server) audioDevices(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	devs, err := s.phone.AudioDevices(ctx)
	if err != nil {
		s.phoneError(w, r, err)
		return
	}
	st, err := s.phone.Settings(ctx)
	if err != nil {
		s.phoneError(w, r, err)
		return
	}
	var resp devicesResponse
	resp.Devices = devs
	if resp.Devices == nil {
		resp.Devices = []AudioDevice{}
	}
	resp.Selected.Mic, resp.Selected.Speaker, resp.Selected.Ringer = st.Mic, st.Speaker, st.Ringer
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) selectDevices(w http.ResponseWriter, r *http.Request) {
	var sel DeviceSelection
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &sel); err != nil {
		writeDecodeError(w, err)
		return
	}
	if sel.Mic == nil && sel.Speaker == nil && sel.Ringer == nil {
		fieldError(w, "mic", "name at least one of mic, speaker, ringer")
		return
	}
	st, ok := s.applySettings(w, r, SettingsPatch{Mic: sel.Mic, Speaker: sel.Speaker, Ringer: sel.Ringer})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"mic": st.Mic, "speaker": st.Speaker, "ringer": st.Ringer})
}

// TestToneRequest is POST /api/v1/audio/test-tone.
type TestToneRequest struct {
	Role string `json:"role"`
}

func (s *Server) testTone(w http.ResponseWriter, r *http.Request) {
	var req TestToneRequest
	if err := decodeStrict(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	if req.Role != "speaker" && req.Role != "ringer" {
		fieldError(w, "role", "use speaker or ringer")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	if err := s.phone.PlayTestTone(ctx, req.Role); err != nil {
		s.phoneError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
