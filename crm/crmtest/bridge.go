// Package crmtest provides an in-memory crm.Bridge that answers the way
// the real Microsoft.CIFramework does (JSON-string results, searches as an
// object keyed "0","1",…, JSON-string errors, a 10 s timeout), backed by
// the Dynamics host double's in-memory Dataverse. It is for tests of the
// crm engine and of code built on it; the end-to-end tests run the same
// Dataverse behind the real browser path (package cifhost).
package crmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchboard/crm"
	"switchboard/crm/cifhost"
)

// Options configure a Bridge.
type Options struct {
	// Dataverse backs the bridge; a fresh one is made if nil.
	Dataverse *cifhost.Dataverse
	// Parsed returns results already JSON-parsed (what a widget that
	// parses CIF's strings forwards) instead of CIF's raw JSON strings.
	Parsed bool
	// Timeout is CIF's own limit on a call (default 10 s).
	Timeout time.Duration
	// OnRequest, if set, sees every request before it runs.
	OnRequest func(crm.Request)
}

// Bridge is an in-memory crm.Bridge.
type Bridge struct {
	o  Options
	DV *cifhost.Dataverse

	mu        sync.Mutex
	connected bool
	log       []crm.Request
	mode      int
}

// New returns a connected bridge.
func New(o Options) *Bridge {
	if o.Dataverse == nil {
		o.Dataverse = cifhost.NewDataverse(cifhost.DataverseOptions{})
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return &Bridge{o: o, DV: o.Dataverse, connected: true}
}

// SetConnected simulates a Dynamics tab connecting or closing.
func (b *Bridge) SetConnected(c bool) {
	b.mu.Lock()
	b.connected = c
	b.mu.Unlock()
}

// Requests returns every request run so far.
func (b *Bridge) Requests() []crm.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.log)
}

// Count returns how many requests had op (and entity, if not empty).
func (b *Bridge) Count(op crm.Op, entity string) int {
	n := 0
	for _, r := range b.Requests() {
		if r.Op == op && (entity == "" || r.Entity == entity) {
			n++
		}
	}
	return n
}

// Mode is the panel mode the last setMode asked for.
func (b *Bridge) Mode() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mode
}

// Do runs a CIF call.
func (b *Bridge) Do(ctx context.Context, r crm.Request) (crm.Response, error) {
	b.mu.Lock()
	connected := b.connected
	if connected {
		b.log = append(b.log, r)
	}
	b.mu.Unlock()
	if !connected {
		return crm.Response{}, crm.ErrNotConnected
	}
	if b.o.OnRequest != nil {
		b.o.OnRequest(r)
	}
	op := map[crm.Op]string{crm.OpSearch: "query", crm.OpCreate: "create", crm.OpUpdate: "update", crm.OpRetrieve: "retrieve"}[r.Op]
	if op != "" {
		if f := b.DV.TakeFault(op, r.Entity); f != nil {
			return b.fault(ctx, r, f)
		}
	}
	res, cerr := b.run(r)
	if cerr != nil {
		return crm.Response{}, crm.BridgeError(cerr)
	}
	return crm.Response{Result: res}, ctx.Err()
}

func (b *Bridge) fault(ctx context.Context, r crm.Request, f *cifhost.Fault) (crm.Response, error) {
	if f.AfterApply {
		_, _ = b.run(r)
	}
	if f.Delay > 0 {
		wait := min(f.Delay, b.o.Timeout)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return crm.Response{}, ctx.Err()
		case <-t.C:
		}
		if f.Delay >= b.o.Timeout {
			// CIF's own timeout rejects with a plain message.
			return crm.Response{}, crm.BridgeError(jsonString(`{"message":"Timeout occurred as no response was received from listener window"}`))
		}
		if f.Status == 0 && !f.AfterApply {
			res, cerr := b.run(r)
			if cerr != nil {
				return crm.Response{}, crm.BridgeError(cerr)
			}
			return crm.Response{Result: res}, nil
		}
	}
	e := cifhost.FaultError(f)
	return crm.Response{}, crm.BridgeError(cifError(e))
}

// jsonString encodes s as a JSON string value (CIF's wire form).
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// cifError is the JSON string a wrapped CIF method rejects with.
func cifError(e *cifhost.Error) json.RawMessage {
	inner, _ := json.Marshal(map[string]any{"message": e.Message, "errorCode": errorCode(e.Code), "code": e.Code})
	return jsonString(string(inner))
}

func errorCode(hex string) int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(hex, "0x"), 16, 64)
	return n
}

// result renders v the way CIF resolves: a JSON string of it, or v
// itself when the bridge forwards parsed results.
func (b *Bridge) result(v any) json.RawMessage {
	inner, _ := json.Marshal(v)
	if b.o.Parsed {
		return inner
	}
	return jsonString(string(inner))
}

func (b *Bridge) run(r crm.Request) (json.RawMessage, json.RawMessage) {
	switch r.Op {
	case crm.OpSearch:
		rows, e := b.DV.Query(r.Entity, strings.TrimPrefix(r.Query, "?"))
		if e != nil {
			return nil, cifError(e)
		}
		// CIF's buildEntity: an object keyed by index, not an array.
		obj := make(map[string]any, len(rows))
		for i, row := range rows {
			obj[strconv.Itoa(i)] = row
		}
		return b.result(obj), nil
	case crm.OpCreate:
		body, e := cifhost.DecodeBody(r.Data)
		if e != nil {
			return nil, cifError(e)
		}
		id, e := b.DV.Create(r.Entity, body)
		if e != nil {
			return nil, cifError(e)
		}
		return b.result(map[string]string{"entityType": r.Entity, "id": id}), nil
	case crm.OpUpdate:
		body, e := cifhost.DecodeBody(r.Data)
		if e != nil {
			return nil, cifError(e)
		}
		if e := b.DV.Update(r.Entity, r.ID, body); e != nil {
			return nil, cifError(e)
		}
		return b.result(map[string]string{"entityType": r.Entity, "id": r.ID}), nil
	case crm.OpRetrieve:
		rec, e := b.DV.Retrieve(r.Entity, r.ID, strings.TrimPrefix(r.Query, "?"))
		if e != nil {
			return nil, cifError(e)
		}
		return b.result(rec), nil
	case crm.OpOpenForm:
		var opts map[string]any
		if err := json.Unmarshal(r.Data, &opts); err != nil || opts["entityName"] == nil {
			return nil, jsonString(`{"message":"entityFormOptions must name an entityName"}`)
		}
		if id, ok := opts["entityId"].(string); ok {
			ent, _ := opts["entityName"].(string)
			if _, ok := b.DV.Record(ent, id); !ok {
				return nil, cifError(&cifhost.Error{Code: "0x80040217", Message: fmt.Sprintf("%s With Id = %s Does Not Exist", ent, id)})
			}
		}
		return b.result(map[string]any{"savedEntityReference": []any{}}), nil
	case crm.OpRenderSearch:
		return json.RawMessage("null"), nil
	case crm.OpSetMode:
		var m int
		if err := json.Unmarshal(r.Data, &m); err != nil || (m != 0 && m != 1 && m != 2) {
			return nil, json.RawMessage(`{"message":"setMode takes 0 or 1"}`)
		}
		b.mu.Lock()
		b.mode = m
		b.mu.Unlock()
		return json.RawMessage("null"), nil
	}
	return nil, json.RawMessage(`{"message":"No handlers found to process the request."}`)
}

// Phonecalls returns the phonecall records, newest last.
func (b *Bridge) Phonecalls() []map[string]any { return b.DV.Records("phonecall") }
