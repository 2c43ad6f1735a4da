package crm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"

	"switchboard/app/store"
)

// Writes reach Dynamics through the outbox: each is stored first, then
// sent by Run when a tab is connected. Three things make a retry safe:
//
//   - Every record we create gets an id we chose (StableID of the call),
//     and before a create is sent the engine searches for that id. A
//     create whose answer was lost is thus found instead of repeated, and
//     if it were repeated anyway Dataverse would refuse a second record
//     with the same key. The id is a better marker than text in the
//     subject or description: agents edit those, nobody edits a key, and
//     it is indexed.
//   - An activity write carries the activity's whole state, so a newer
//     write supersedes any older one still waiting, and sending the same
//     state twice changes nothing.
//   - The writes of one call run in the order they were queued; one that
//     fails holds back the later ones (a note waits for its phonecall).

// farFuture lists every pending item whatever its due time.
const farFuture = 100 * 365 * 24 * time.Hour

// roundLimit bounds the items one round reads.
const roundLimit = 500

// errNoAgent: the phonecall's parties need the agent's systemuser id,
// which the widget reports once Dynamics has loaded it.
var errNoAgent = errors.New("the agent's Dynamics user is not known yet (waiting for the Dynamics panel to load)")

// Run sends the outbox until ctx ends. Call it once, in its own
// goroutine.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	kicked := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.base.Done():
			return nil
		case <-e.kick:
			kicked = true
		case <-e.wake:
		case <-t.C:
		}
		next := e.round(ctx, kicked)
		kicked = false
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(max(time.Until(next), 50*time.Millisecond))
	}
}

type queued struct {
	it  store.OutboxItem
	job job
}

// round sends what is due and returns when the next item will be.
func (e *Engine) round(ctx context.Context, kicked bool) time.Time {
	now := time.Now()
	next := now.Add(time.Minute)
	items, err := e.o.Outbox.NextDue(ctx, now.Add(farFuture), roundLimit)
	if err != nil {
		e.log.Error("reading the outbox", "err", err)
		return now.Add(e.o.RetryMin)
	}
	slices.SortFunc(items, func(a, b store.OutboxItem) int { return int(a.ID - b.ID) })
	groups := map[string][]queued{}
	var order []string
	for _, it := range items {
		var j job
		if err := json.Unmarshal(it.Payload, &j); err != nil || j.Group == "" {
			// Not ours or unreadable: retire it so it cannot block.
			e.log.Error("dropping an unreadable outbox item", "key", it.Key, "err", err)
			e.markDone(ctx, it.ID, map[string]string{"dropped": "unreadable payload"})
			continue
		}
		if _, ok := groups[j.Group]; !ok {
			order = append(order, j.Group)
		}
		groups[j.Group] = append(groups[j.Group], queued{it, j})
	}
	offline := false
	for _, g := range order {
		if ctx.Err() != nil || offline {
			break
		}
		q, superseded := sendOrder(groups[g])
		for _, x := range superseded {
			e.markDone(ctx, x.it.ID, map[string]string{"superseded": "a newer write of this activity"})
		}
		completed := false
		for _, x := range q {
			if completed && x.it.Kind == kindComplete {
				continue // retired when the activity was completed
			}
			if x.it.NextAt.After(now) && (!kicked || x.it.Kind == kindComplete) {
				if x.it.Kind == kindComplete {
					if x.it.NextAt.Before(next) {
						next = x.it.NextAt
					}
					continue // a timed completion holds nothing back
				}
				if x.it.NextAt.Before(next) {
					next = x.it.NextAt
				}
				break
			}
			result, err := e.send(ctx, x)
			if err == nil {
				e.markDone(ctx, x.it.ID, result)
				if x.job.Phonecall != nil && x.job.Phonecall.Complete && !completed {
					// Completed now: the fallback completions are moot,
					// wherever they stand in the queue.
					for _, y := range q {
						if y.it.Kind == kindComplete && y.it.ID != x.it.ID {
							e.markDone(ctx, y.it.ID, map[string]string{"superseded": "completed earlier"})
						}
					}
					completed = true
				}
				continue
			}
			retry := now.Add(e.backoff(x.it.Attempts + 1))
			if errors.Is(err, ErrNotConnected) || errors.Is(err, errNoAgent) {
				retry, offline = now.Add(e.o.OfflineRetry), true
			}
			lvl := slog.LevelWarn
			if offline {
				lvl = slog.LevelDebug // waiting for a tab is normal, not news
			}
			e.log.Log(ctx, lvl, "Dynamics write failed; will retry", "key", x.it.Key, "attempt", x.it.Attempts+1, "retry", retry.Sub(now).Round(time.Millisecond), "err", err)
			if err := e.o.Outbox.MarkFailed(ctx, x.it.ID, err.Error(), retry); err != nil {
				e.log.Error("updating the outbox", "err", err)
			}
			if retry.Before(next) {
				next = retry
			}
			break
		}
	}
	e.reportPending(ctx)
	return next
}

// sendOrder puts one call's writes, read in the order they were queued,
// in the order they must be sent. An activity write carries the
// activity's whole state, so only the newest is sent, and it goes where
// the first stood: records it names were queued before it. Notes go
// last, after the activity they hang on, however the recording's end
// and the call's end raced when they were queued.
func sendOrder(q []queued) (run, superseded []queued) {
	latest := -1
	for i, x := range q {
		if x.it.Kind == kindPhonecall {
			latest = i
		}
	}
	var notes []queued
	placed := false
	for i, x := range q {
		switch {
		case x.it.Kind == kindNote:
			notes = append(notes, x)
		case x.it.Kind != kindPhonecall:
			run = append(run, x)
		default:
			if i != latest {
				superseded = append(superseded, x)
			}
			if !placed {
				run = append(run, q[latest])
				placed = true
			}
		}
	}
	return append(run, notes...), superseded
}

func (e *Engine) markDone(ctx context.Context, id int64, result any) {
	b, _ := json.Marshal(result)
	if err := e.o.Outbox.MarkDone(ctx, id, b); err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("updating the outbox", "err", err)
	}
}

func (e *Engine) reportPending(ctx context.Context) {
	if e.o.OnPending == nil {
		return
	}
	n, err := e.Pending(ctx)
	if err != nil {
		return
	}
	e.mu.Lock()
	changed := n != e.pending
	e.pending = n
	e.mu.Unlock()
	if changed {
		e.o.OnPending(n)
	}
}

// Pending is the number of writes not yet in Dynamics. A completion
// waiting for the agent to close the activity page is not counted: it is
// not late, it is not due.
func (e *Engine) Pending(ctx context.Context) (int, error) {
	items, err := e.o.Outbox.NextDue(ctx, time.Now().Add(farFuture), roundLimit)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	n := 0
	for _, it := range items {
		if it.Kind == kindComplete && it.NextAt.After(now) {
			continue
		}
		n++
	}
	if n == roundLimit {
		return e.o.Outbox.Pending(ctx)
	}
	return n, nil
}

func (e *Engine) send(ctx context.Context, x queued) (any, error) {
	switch {
	case x.job.Phonecall != nil:
		return e.sendPhonecall(ctx, x.job.Group, x.job.Phonecall)
	case x.job.Record != nil:
		return e.sendRecord(ctx, x.job.Group, x.job.Record)
	case x.job.Note != nil:
		return e.sendNote(ctx, x.job.Note)
	}
	return map[string]string{"dropped": "empty job"}, nil
}

// do runs one bridge call with the write timeout.
func (e *Engine) do(ctx context.Context, r Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, e.o.WriteTimeout)
	defer cancel()
	return e.o.Bridge.Do(ctx, r)
}

// lookup finds a record by id; nil, nil when it does not exist.
func (e *Engine) lookup(ctx context.Context, entity, id string, fields ...string) (map[string]json.RawMessage, error) {
	q, err := IDQuery(entity, id, fields...)
	if err != nil {
		return nil, err
	}
	resp, err := e.do(ctx, Request{Op: OpSearch, Entity: entity, Query: q})
	if err != nil {
		return nil, fmt.Errorf("looking for %s %s: %w", entity, id, err)
	}
	rows, err := ParseRows(resp.Result)
	if err != nil {
		return nil, err
	}
	info, _ := EntityInfo(entity)
	for _, r := range rows {
		if g, err := NormalizeGUID(jsonText(r[info.IDField])); err == nil && g == id {
			return r, nil
		}
	}
	return nil, nil
}

func (e *Engine) sendPhonecall(ctx context.Context, callID string, j *phonecallJob) (any, error) {
	p := j.Call
	row, err := e.lookup(ctx, "phonecall", p.ID, "statecode")
	if err != nil {
		return nil, err
	}
	if row == nil && !j.Fields {
		return map[string]string{"skipped": "no phonecall to complete"}, nil
	}
	state := StateOpen
	if row != nil {
		fmt.Sscan(jsonText(row["statecode"]), &state)
	}
	if j.Fields {
		p.Agent = e.o.AgentID()
		if p.Agent == "" {
			return nil, errNoAgent
		}
		if p.Party == nil && j.PartyNumber != nil {
			if m, err := e.searchNumber(ctx, e.settings(), *j.PartyNumber); err != nil {
				return nil, err
			} else if len(m) == 1 {
				p.Party = &m[0].Ref
			}
		}
		switch {
		case row == nil:
			body, err := p.CreateBody()
			if err != nil {
				return nil, err
			}
			resp, err := e.do(ctx, Request{Op: OpCreate, Entity: "phonecall", Data: body})
			if err != nil {
				return nil, fmt.Errorf("creating the phone call: %w", err)
			}
			ref, err := ParseCreated(resp.Result)
			if err != nil {
				return nil, err
			}
			if ref.ID != p.ID {
				e.log.Warn("Dynamics chose another id for the phone call", "want", p.ID, "got", ref.ID)
			}
			state = StateOpen
		case state == StateCanceled:
			return map[string]string{"skipped": "the phone call was canceled in Dynamics"}, nil
		default:
			if state == StateCompleted {
				// A closed activity is read-only: reopen, edit, and
				// complete again below if this write completes it.
				if _, err := e.do(ctx, Request{Op: OpUpdate, Entity: "phonecall", ID: p.ID, Data: StateBody(p.Direction, true)}); err != nil {
					return nil, fmt.Errorf("reopening the phone call: %w", err)
				}
				state = StateOpen
				j.Complete = true
			}
			body, err := p.UpdateBody(j.WithParties)
			if err != nil {
				return nil, err
			}
			if _, err := e.do(ctx, Request{Op: OpUpdate, Entity: "phonecall", ID: p.ID, Data: body}); err != nil {
				return nil, fmt.Errorf("updating the phone call: %w", err)
			}
		}
	}
	if j.Complete && state == StateOpen {
		if _, err := e.do(ctx, Request{Op: OpUpdate, Entity: "phonecall", ID: p.ID, Data: StateBody(p.Direction, false)}); err != nil {
			return nil, fmt.Errorf("completing the phone call: %w", err)
		}
		state = StateCompleted
	}
	return map[string]any{"phonecall": p.ID, "state": state}, nil
}

func (e *Engine) sendRecord(ctx context.Context, callID string, j *recordJob) (any, error) {
	row, err := e.lookup(ctx, j.Ref.Entity, j.Ref.ID)
	if err != nil {
		return nil, err
	}
	if row == nil && j.Ensure {
		m, err := e.searchNumber(ctx, e.settings(), j.Number)
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			e.recordKnown(callID, m)
			return map[string]any{"skipped": "the number is already in Dynamics", "match": m[0].Ref}, nil
		}
	}
	if row == nil {
		body, err := NewRecordBody(j.Ref.Entity, j.Ref.ID, j.Number)
		if err != nil {
			return nil, err
		}
		resp, err := e.do(ctx, Request{Op: OpCreate, Entity: j.Ref.Entity, Data: body})
		if err != nil {
			return nil, fmt.Errorf("creating the %s: %w", j.Ref.Entity, err)
		}
		if _, err := ParseCreated(resp.Result); err != nil {
			return nil, err
		}
	}
	if j.Open {
		// Shown without waiting (openForm has no timeout in CIF); the
		// record exists, so failing to show it is not worth a retry.
		e.async(func() {
			if err := e.doPop(PopPlan{Kind: PopOpen, Target: j.Ref}); err != nil {
				e.log.Info("could not open the new record", "err", err)
			}
		})
	}
	return map[string]any{"record": j.Ref}, nil
}

// recordKnown replaces the call's would-be new record by the records
// the deferred search found.
func (e *Engine) recordKnown(callID string, m []Record) {
	e.mu.Lock()
	st, ok := e.calls[callID]
	if ok {
		st.created = nil
		st.matches = m
		st.match = matchDone
	}
	e.mu.Unlock()
	if ok {
		e.publish(st)
	}
}

func (e *Engine) sendNote(ctx context.Context, j *noteJob) (any, error) {
	pc, err := e.lookup(ctx, "phonecall", j.PhonecallID)
	if err != nil {
		return nil, err
	}
	if pc == nil {
		return map[string]string{"skipped": "the call has no phone call activity"}, nil
	}
	note, err := e.lookup(ctx, "annotation", j.NoteID)
	if err != nil {
		return nil, err
	}
	if note != nil {
		return map[string]string{"note": j.NoteID}, nil
	}
	var data []byte
	size := int64(-1)
	fi, err := os.Stat(j.Recording.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading the recording: %w", err)
	default:
		size = fi.Size()
		if int64(base64.StdEncoding.EncodedLen(int(min(size, 1<<40)))) <= int64(j.MaxBase64) {
			if data, err = os.ReadFile(j.Recording.Path); err != nil {
				return nil, fmt.Errorf("reading the recording: %w", err)
			}
		}
	}
	body, attached, err := NoteBody(j.NoteID, j.PhonecallID, j.Recording, data, size, j.MaxBase64)
	if err != nil {
		return nil, err
	}
	resp, err := e.do(ctx, Request{Op: OpCreate, Entity: "annotation", Data: body})
	if err != nil {
		return nil, fmt.Errorf("attaching the recording: %w", err)
	}
	if _, err := ParseCreated(resp.Result); err != nil {
		return nil, err
	}
	return map[string]any{"note": j.NoteID, "attached": attached}, nil
}
