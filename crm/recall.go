package crm

import (
	"context"
	"fmt"
	"strings"

	"switchboard/app"
)

// Recall brings a call from the local call log back to the engine, so the
// agent can act on it after the fact (E1): open its record, add its
// unknown number, log or edit its activity. c is the call as the log
// has it (ended).
//
// A call the engine still holds is only searched again if its search
// never succeeded. One it has forgotten (older calls, or an app restart)
// is registered again, its number searched, and its activity read back
// from Dynamics if one exists, so that editing it keeps what is there:
// subject, notes and regarding are filled from the record, not blanked.
// Nothing pops: the agent asked to look, not to open.
func (e *Engine) Recall(ctx context.Context, c app.Call) (CallInfo, error) {
	if c.ID == "" {
		return CallInfo{}, fmt.Errorf("recall: %w", ErrUnknownCall)
	}
	e.mu.Lock()
	_, known := e.calls[c.ID]
	e.mu.Unlock()
	if !known {
		c.State = app.CallEnded
		e.OnCall(c)
	}
	st, err := e.call(c.ID)
	if err != nil {
		return CallInfo{}, err
	}
	e.mu.Lock()
	if !known {
		st.recalled = true
	}
	unread := st.recalled && !st.activityRead
	e.mu.Unlock()
	if unread {
		if err := e.readActivity(ctx, st); err != nil {
			e.log.Info("could not read the call's activity from Dynamics", "call", c.ID, "err", err)
		}
	}
	if err := e.ensureMatched(ctx, st); err != nil && ctx.Err() != nil {
		return CallInfo{}, err
	}
	e.publish(st)
	ci, _ := e.Info(c.ID)
	return ci, nil
}

// readActivity fills a recalled call's activity from Dynamics, once.
func (e *Engine) readActivity(ctx context.Context, st *callState) error {
	e.mu.Lock()
	id := StableID("phonecall", st.snap.ID)
	e.mu.Unlock()
	row, err := e.lookup(ctx, "phonecall", id, "subject", "description", "statecode", "_regardingobjectid_value")
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if st.activityRead {
		return nil
	}
	st.activityRead = true
	if row == nil || st.activity {
		return nil // none in Dynamics; or the agent wrote meanwhile, and hers is newer
	}
	var state int
	fmt.Sscan(jsonText(row["statecode"]), &state)
	st.activity, st.endQueued = true, true
	st.completed = state == StateCompleted
	st.subject = jsonText(row["subject"])
	st.description = stripQuality(jsonText(row["description"]))
	if rid, err := NormalizeGUID(jsonText(row["_regardingobjectid_value"])); err == nil {
		ent := jsonText(row["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"])
		name := jsonText(row["_regardingobjectid_value@OData.Community.Display.V1.FormattedValue"])
		if info, ok := EntityInfo(ent); !ok || len(info.Phones) == 0 {
			// An opportunity, or a kind we cannot tell: kept as it is.
			// (A contact, account or lead there is the caller, which
			// every write names anyway.)
			st.regarding = &Ref{Entity: ent, ID: rid, Name: name}
		}
	}
	return nil
}

// stripQuality takes the quality line the app appended off a stored
// description, leaving the agent's notes (the line is written anew from
// the call's measures). The line may be in any language the app writes
// and carry other figures than the call's (measured again since).
func stripQuality(desc string) string {
	if !strings.Contains(desc, "\n") {
		if isQualityLine(desc) {
			return ""
		}
		return desc
	}
	if i := strings.LastIndex(desc, "\n\n"); i >= 0 && !strings.Contains(desc[i+2:], "\n") && isQualityLine(desc[i+2:]) {
		return desc[:i]
	}
	return desc
}
