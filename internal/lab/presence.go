package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Presentity is a published state held by Kamailio's presence server.
type Presentity struct {
	User    string `json:"user"`
	Domain  string `json:"domain"`
	Event   string `json:"event"` // "dialog", "message-summary", "presence"
	ETag    string `json:"etag"`
	Expires int64  `json:"expires"` // unix time
}

// Presentities lists the published states (PUBLISH from UAs, dialog
// states from pua_dialoginfo for calls through this server, MWI from
// SetMWI). It fails when the lab runs with NoPresence.
func (k *Kamailio) Presentities(ctx context.Context) ([]Presentity, error) {
	if !k.presence {
		return nil, errors.New("lab: Kamailio runs without presence (KamailioOptions.NoPresence)")
	}
	res, err := k.RPC(ctx, "presence.presentity_list")
	if err != nil {
		return nil, err
	}
	var ps []Presentity
	if err := json.Unmarshal(res, &ps); err != nil {
		return nil, fmt.Errorf("lab: parse presentity list: %w", err)
	}
	return ps, nil
}

// WaitPresentity waits until ext has a presentity for event.
func (k *Kamailio) WaitPresentity(ctx context.Context, ext, event string) (Presentity, error) {
	for {
		ps, err := k.Presentities(ctx)
		if err != nil && ctx.Err() == nil {
			return Presentity{}, err
		}
		for _, p := range ps {
			if p.User == ext && p.Event == event {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			return Presentity{}, fmt.Errorf("lab: no %s presentity for %s: %w", event, ext, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SetMWI publishes the voicemail state of ext (RFC 3842
// message-summary), as a voicemail server would: subscribers of
// message-summary for ext get a NOTIFY. Later calls replace the state.
func (k *Kamailio) SetMWI(ctx context.Context, ext string, newMsgs, oldMsgs int) error {
	if !k.presence {
		return errors.New("lab: Kamailio runs without presence (KamailioOptions.NoPresence)")
	}
	waiting := "no"
	if newMsgs > 0 {
		waiting = "yes"
	}
	body := fmt.Sprintf("Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d (0/0)\r\n",
		waiting, k.AOR(ext), newMsgs, oldMsgs)
	// pua.publish would wait for the reply, which the datagram transport
	// cannot do; send_publish returns at once. The id makes pua update the
	// same publication instead of adding one.
	_, err := k.RPC(ctx, "pua.send_publish", k.AOR(ext), "3600", "message-summary",
		"application/simple-message-summary", "mwi-"+ext, ".", ".", ".", body)
	if err != nil {
		return fmt.Errorf("lab: publish MWI for %s: %w", ext, err)
	}
	return nil
}
