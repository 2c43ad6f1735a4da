package crm

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"switchboard/app/store"
)

// Op is a Microsoft.CIFramework operation the bridge runs in a Dynamics
// tab.
type Op string

// The operations, and the CIF call each maps to in the widget.
const (
	// OpSearch: searchAndOpenRecords(Entity, Query, true). Resolves with
	// a JSON string of an object keyed "0","1",….
	OpSearch Op = "search"
	// OpCreate: createRecord(Entity, Data as a JSON string). Resolves
	// with '{"entityType":…,"id":…}'.
	OpCreate Op = "create"
	// OpUpdate: updateRecord(Entity, ID, Data as a JSON string).
	OpUpdate Op = "update"
	// OpRetrieve: retrieveRecord(Entity, ID, Query).
	OpRetrieve Op = "retrieve"
	// OpOpenForm: openForm(Data as a JSON string of the entity form
	// options, Params as a JSON string of the form parameters if set).
	OpOpenForm Op = "openform"
	// OpRenderSearch: renderSearchPage(Entity, Query as the search text).
	OpRenderSearch Op = "rendersearch"
	// OpSetMode: setMode(Data as a number: 0 minimised, 1 docked).
	OpSetMode Op = "setmode"
)

// Request is one CIF call. Its JSON form is what travels to the widget:
// {"op","entity","recordId","query","data","params"} (the transport adds
// its own request "id").
type Request struct {
	Op     Op              `json:"op"`
	Entity string          `json:"entity,omitempty"`
	ID     string          `json:"recordId,omitempty"`
	Query  string          `json:"query,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Response is what the CIF promise resolved with, as the widget forwarded
// it: either the JSON string CIF gives or that string already parsed; the
// parsers in this package accept both.
type Response struct {
	Result json.RawMessage `json:"result,omitempty"`
}

// Bridge runs CIF calls inside the agent's Dynamics session (the widget,
// over its WebSocket). Do returns ErrNotConnected (wrapped) when no
// Dynamics tab is there to run it, a *CIFError when Dynamics refused the
// call (build it with BridgeError from the widget's error value), and
// ctx's error on timeout.
type Bridge interface {
	Do(ctx context.Context, req Request) (Response, error)
}

// ErrNotConnected: no Dynamics tab is connected to run CIF calls. Writes
// wait in the outbox; call Engine.Kick when a tab connects.
var ErrNotConnected = errors.New("no Dynamics tab is connected to Switchboard (open Dynamics 365 with the Switchboard panel)")

// BridgeError turns the error value a widget reports for a rejected CIF
// call into a *CIFError.
func BridgeError(raw json.RawMessage) error { return ParseError(raw) }

// Outbox is the durable queue of CRM writes (SPEC G2); *store.Store
// satisfies it.
type Outbox interface {
	Enqueue(ctx context.Context, it store.OutboxItem) (id int64, created bool, err error)
	NextDue(ctx context.Context, now time.Time, limit int) ([]store.OutboxItem, error)
	MarkDone(ctx context.Context, id int64, result json.RawMessage) error
	MarkFailed(ctx context.Context, id int64, errText string, retryAt time.Time) error
	Pending(ctx context.Context) (int, error)
}

var _ Outbox = (*store.Store)(nil)
