package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The real Microsoft.CIFramework resolves most calls with a JSON *string*
// (a search gives an object keyed "0","1",…, not an array), rejects with a
// JSON string such as '{"message":"…"}' or with a plain Map, and wraps the
// user id in braces. The widget may forward these as received or parse
// them first; every parser here accepts both.

// ErrBadResult: Dynamics answered with something that is not what the
// call returns.
var ErrBadResult = errors.New("unexpected answer from Dynamics")

// maxUnwrap bounds how many JSON-string layers are peeled off a result.
const maxUnwrap = 3

// maxSearchResults is CIF's own cap on a search.
const maxSearchResults = 5000

// Ref points at one Dataverse record.
type Ref struct {
	Entity string `json:"entity"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
}

// Record is one search result with the fields matching uses.
type Record struct {
	Ref
	// Phones maps a phone column to its value as stored.
	Phones map[string]string `json:"phones,omitempty"`
}

// unwrap peels JSON-string layers off raw: `"{\"0\":…}"` becomes `{"0":…}`.
// A string that does not hold JSON is returned as that JSON string.
func unwrap(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	for range maxUnwrap {
		if len(raw) == 0 || raw[0] != '"' {
			break
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadResult, err)
		}
		t := bytes.TrimSpace([]byte(s))
		if len(t) == 0 {
			return json.RawMessage("null"), nil
		}
		if !json.Valid(t) || (t[0] != '{' && t[0] != '[' && t[0] != '"') {
			return raw, nil // a plain string value
		}
		raw = t
	}
	if len(raw) == 0 {
		return json.RawMessage("null"), nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: not JSON", ErrBadResult)
	}
	return raw, nil
}

// ParseSearch reads the result of a search over entity: the CIF shape (an
// object keyed "0","1",…, usually inside a JSON string), and, tolerantly,
// an array or an OData {"value":[…]} / {"entities":[…]} object.
func ParseSearch(entity string, raw json.RawMessage) ([]Record, error) {
	e, ok := EntityInfo(entity)
	if !ok {
		return nil, fmt.Errorf("search result: unknown entity %q", entity)
	}
	items, err := searchItems(raw)
	if err != nil {
		return nil, fmt.Errorf("search result for %s: %w", entity, err)
	}
	out := make([]Record, 0, len(items))
	for i, it := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || m == nil {
			return nil, fmt.Errorf("search result for %s: %w: item %d is not a record", entity, ErrBadResult, i)
		}
		idRaw, ok := m[e.IDField]
		if !ok {
			idRaw = m["id"]
		}
		id, err := NormalizeGUID(jsonText(idRaw))
		if err != nil {
			return nil, fmt.Errorf("search result for %s: %w: item %d has no valid %s", entity, ErrBadResult, i, e.IDField)
		}
		r := Record{Ref: Ref{Entity: entity, ID: id, Name: jsonText(m[e.NameField])}}
		for _, col := range e.Phones {
			if v := jsonText(m[col]); v != "" {
				if r.Phones == nil {
					r.Phones = map[string]string{}
				}
				r.Phones[col] = v
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseRows reads a search result as raw rows (for the columns ParseSearch
// does not extract, e.g. statecode).
func ParseRows(raw json.RawMessage) ([]map[string]json.RawMessage, error) {
	items, err := searchItems(raw)
	if err != nil {
		return nil, fmt.Errorf("search result: %w", err)
	}
	out := make([]map[string]json.RawMessage, 0, len(items))
	for i, it := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || m == nil {
			return nil, fmt.Errorf("search result: %w: item %d is not a record", ErrBadResult, i)
		}
		out = append(out, m)
	}
	return out, nil
}

func searchItems(raw json.RawMessage) ([]json.RawMessage, error) {
	raw, err := unwrap(raw)
	if err != nil {
		return nil, err
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadResult, err)
		}
		if len(a) > maxSearchResults {
			return nil, fmt.Errorf("%w: %d results, more than CIF returns", ErrBadResult, len(a))
		}
		return a, nil
	case '{':
	default:
		return nil, fmt.Errorf("%w: a search returns an object", ErrBadResult)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResult, err)
	}
	for _, k := range []string{"value", "entities"} {
		if v, ok := m[k]; ok {
			return searchItems(v)
		}
	}
	if len(m) > maxSearchResults {
		return nil, fmt.Errorf("%w: %d results, more than CIF returns", ErrBadResult, len(m))
	}
	type kv struct {
		i int
		v json.RawMessage
	}
	kvs := make([]kv, 0, len(m))
	for k, v := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || strconv.Itoa(i) != k {
			return nil, fmt.Errorf("%w: search result key %.20q is not an index", ErrBadResult, k)
		}
		kvs = append(kvs, kv{i, v})
	}
	slices.SortFunc(kvs, func(a, b kv) int { return a.i - b.i })
	out := make([]json.RawMessage, len(kvs))
	for i, x := range kvs {
		out[i] = x.v
	}
	return out, nil
}

// jsonText renders a JSON scalar as text ("" for null, objects, arrays).
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '{', '[', 'n':
		return ""
	default:
		return string(raw)
	}
	return ""
}

// ParseCreated reads createRecord's '{"entityType":"…","id":"<guid>"}'
// (updateRecord answers the same shape).
func ParseCreated(raw json.RawMessage) (Ref, error) {
	raw, err := unwrap(raw)
	if err != nil {
		return Ref{}, fmt.Errorf("create result: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Ref{}, fmt.Errorf("create result: %w: expected an object with entityType and id", ErrBadResult)
	}
	id, err := NormalizeGUID(jsonText(m["id"]))
	if err != nil {
		return Ref{}, fmt.Errorf("create result: %w: %v", ErrBadResult, err)
	}
	return Ref{Entity: jsonText(m["entityType"]), ID: id}, nil
}

// ParseRecord reads retrieveRecord's JSON string of the record.
func ParseRecord(raw json.RawMessage) (map[string]any, error) {
	raw, err := unwrap(raw)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("record: %w: expected an object", ErrBadResult)
	}
	return m, nil
}

// ParseOpenForm reads openForm's result; the references of the records
// saved on the form, usually none.
func ParseOpenForm(raw json.RawMessage) ([]Ref, error) {
	raw, err := unwrap(raw)
	if err != nil {
		return nil, fmt.Errorf("open form result: %w", err)
	}
	if raw[0] != '{' {
		return nil, nil // null or a bare value: nothing was saved
	}
	var v struct {
		Saved []struct {
			EntityType string `json:"entityType"`
			ID         string `json:"id"`
			Name       string `json:"name"`
		} `json:"savedEntityReference"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("open form result: %w: %v", ErrBadResult, err)
	}
	var out []Ref
	for _, s := range v.Saved {
		id, err := NormalizeGUID(s.ID)
		if err != nil {
			return nil, fmt.Errorf("open form result: %w: %v", ErrBadResult, err)
		}
		out = append(out, Ref{Entity: s.EntityType, ID: id, Name: s.Name})
	}
	return out, nil
}

// Environment is what getEnvironment tells about the agent's Dynamics
// session.
type Environment struct {
	UserID        string `json:"userId"` // braces removed, lower case
	Username      string `json:"username,omitempty"`
	ClientURL     string `json:"clientUrl,omitempty"`
	AppURL        string `json:"appUrl,omitempty"`
	OrgID         string `json:"orgId,omitempty"`
	OrgUniqueName string `json:"orgUniqueName,omitempty"`
	OrgLCID       int    `json:"orgLcid,omitempty"`
	UserLCID      int    `json:"userLcid,omitempty"`
	// The current page (query parameters of the UCI URL).
	PageType string `json:"pagetype,omitempty"`
	Etn      string `json:"etn,omitempty"`
	ID       string `json:"id,omitempty"`
	AppID    string `json:"appid,omitempty"`
	// CustomParams is the provider's "Custom Parameters" text.
	CustomParams string `json:"customParams,omitempty"`
}

// ParseEnvironment reads getEnvironment's JSON string.
func ParseEnvironment(raw json.RawMessage) (Environment, error) {
	raw, err := unwrap(raw)
	if err != nil {
		return Environment{}, fmt.Errorf("environment: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Environment{}, fmt.Errorf("environment: %w: expected an object", ErrBadResult)
	}
	uid, err := NormalizeGUID(jsonText(m["userId"]))
	if err != nil {
		return Environment{}, fmt.Errorf("environment: %w: userId: %v", ErrBadResult, err)
	}
	num := func(k string) int {
		n, _ := strconv.Atoi(jsonText(m[k]))
		return n
	}
	env := Environment{
		UserID: uid, Username: jsonText(m["username"]),
		ClientURL: jsonText(m["clientUrl"]), AppURL: jsonText(m["appUrl"]),
		OrgID: strings.Trim(strings.ToLower(jsonText(m["orgId"])), "{}"), OrgUniqueName: jsonText(m["orgUniqueName"]),
		OrgLCID: num("orgLcid"), UserLCID: num("userLcid"),
		PageType: jsonText(m["pagetype"]), Etn: jsonText(m["etn"]), AppID: jsonText(m["appid"]),
		CustomParams: jsonText(m["customParams"]),
	}
	if id := jsonText(m["id"]); id != "" {
		if g, err := NormalizeGUID(id); err == nil {
			env.ID = g
		}
	}
	return env, nil
}

// ClickToAct is a click on a phone field in Dynamics.
type ClickToAct struct {
	Number string `json:"value"`
	Field  string `json:"name,omitempty"`
	Entity string `json:"entityLogicalName,omitempty"`
	// EntityID is not in the documented payload; some controls add it.
	EntityID string `json:"entityId,omitempty"`
}

// ParseClickToAct reads an onclicktoact payload: the documented
// {"value","name","format","entityLogicalName"}, falling back to the older
// {field:{value,name}, AssociatedEntityLogicalName} shape.
func ParseClickToAct(raw json.RawMessage) (ClickToAct, error) {
	raw, err := unwrap(raw)
	if err != nil {
		return ClickToAct{}, fmt.Errorf("click to act: %w", err)
	}
	if raw[0] == '"' { // a bare number
		return ClickToAct{Number: jsonText(raw)}, nonEmptyClick(jsonText(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return ClickToAct{}, fmt.Errorf("click to act: %w: expected an object", ErrBadResult)
	}
	c := ClickToAct{Number: jsonText(m["value"]), Field: jsonText(m["name"]), Entity: jsonText(m["entityLogicalName"])}
	if f, ok := m["field"]; ok {
		var fm map[string]json.RawMessage
		if json.Unmarshal(f, &fm) == nil {
			if c.Number == "" {
				c.Number = jsonText(fm["value"])
			}
			if c.Field == "" {
				c.Field = jsonText(fm["name"])
			}
		}
	}
	if c.Entity == "" {
		c.Entity = jsonText(m["AssociatedEntityLogicalName"])
	}
	if id := jsonText(m["entityId"]); id != "" {
		if g, err := NormalizeGUID(id); err == nil {
			c.EntityID = g
		}
	}
	return c, nonEmptyClick(c.Number)
}

func nonEmptyClick(n string) error {
	if strings.TrimSpace(n) == "" {
		return fmt.Errorf("click to act: %w: no number in the payload", ErrBadResult)
	}
	return nil
}

// CIFError is Dynamics refusing a request (as opposed to the request not
// reaching it).
type CIFError struct {
	Message string
	// Code is Dataverse's error code when the answer carried one.
	Code string
	// Raw is the answer as received, for the log.
	Raw string
}

func (e *CIFError) Error() string {
	if e.Code != "" {
		return "Dynamics: " + e.Message + " (" + e.Code + ")"
	}
	return "Dynamics: " + e.Message
}

// maxErrorText bounds what an error message keeps of a hostile answer.
const maxErrorText = 500

// ParseError reads a CIF rejection: a JSON string '{"message":"…"}', a
// Map forwarded as an object, an Error's {message,name}, nested
// JSON-in-message, or plain text.
func ParseError(raw json.RawMessage) *CIFError {
	e := &CIFError{Raw: clip(string(raw))}
	v, err := unwrap(raw)
	if err != nil {
		e.Message = clip(strings.TrimSpace(string(raw)))
		if e.Message == "" {
			e.Message = "unknown error"
		}
		return e
	}
	for range maxUnwrap {
		switch v[0] {
		case 'n':
		case '"':
			e.Message = clip(jsonText(v))
		case '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil {
				break
			}
			if inner, ok := m["error"]; ok && len(m) <= 2 { // OData {"error":{code,message}}
				if w, err := unwrap(inner); err == nil && len(w) > 0 && w[0] == '{' {
					v = w
					continue
				}
			}
			for _, k := range []string{"errorCode", "code"} {
				if c := jsonText(m[k]); c != "" && e.Code == "" {
					e.Code = clip(c)
				}
			}
			msg := m["message"]
			if msg == nil {
				msg = m["Message"]
			}
			if w, err := unwrap(msg); err == nil && len(w) > 0 && w[0] == '{' {
				v = w // '{"message":"{\"message\":…}"}'
				continue
			}
			e.Message = clip(jsonText(msg))
		default:
			e.Message = clip(string(v))
		}
		break
	}
	if strings.TrimSpace(e.Message) == "" {
		e.Message = "unknown error"
		if e.Raw != "" && e.Raw != "null" && e.Raw != `""` {
			e.Message = "unknown error: " + e.Raw
		}
	}
	return e
}

func clip(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// NormalizeGUID returns a Dataverse id in its canonical form: lower case,
// no braces ("{AB12…}" → "ab12…").
func NormalizeGUID(s string) (string, error) {
	g := strings.ToLower(strings.TrimSpace(s))
	g = strings.TrimPrefix(g, "{")
	g = strings.TrimSuffix(g, "}")
	if len(g) != 36 {
		return "", fmt.Errorf("%.40q is not a record id", s)
	}
	for i := 0; i < 36; i++ {
		c := g[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", fmt.Errorf("%.40q is not a record id", s)
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return "", fmt.Errorf("%.40q is not a record id", s)
			}
		}
	}
	return g, nil
}
