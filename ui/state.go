package ui

import (
	"switchboard/app"
	"switchboard/ui/backend"
)

// Icon is what the tray icon shows.
type Icon int

const (
	IconSignedOut Icon = iota
	IconConnecting
	IconAvailable
	IconAway
	IconDND
	IconError
	IconRinging
	IconInCall
)

func (i Icon) String() string {
	return [...]string{"signed-out", "connecting", "available", "away", "dnd", "error", "ringing", "in-call"}[i]
}

// PhoneState is everything the tray reflects.
type PhoneState struct {
	SignedIn     bool
	Registration app.Registration
	Calls        []app.Call
	Presence     backend.Presence
	Missed       int
}

// TrayState is the tray's icon and status line for a PhoneState.
type TrayState struct {
	Icon Icon
	// Badge marks missed calls on the icon.
	Badge bool
	// Status is the first line of the menu and the tooltip.
	Status string
}

// TrayStateOf maps the phone's state to the tray. A call outranks the
// registration (the agent cares about the caller first), the
// registration outranks presence (DND on a phone that is not connected
// is still not connected), and missed calls add a badge to any icon but
// the signed-out one.
func TrayStateOf(s PhoneState, t Text) TrayState {
	if !s.SignedIn {
		return TrayState{Icon: IconSignedOut, Status: t.T("status.signedOut")}
	}
	var ringing, live *app.Call
	for i := range s.Calls {
		c := &s.Calls[i]
		switch c.State {
		case app.CallIncoming:
			if ringing == nil {
				ringing = c
			}
		case app.CallActive, app.CallHeld, app.CallDialing, app.CallRinging:
			if live == nil {
				live = c
			}
		}
	}
	st := TrayState{Badge: s.Missed > 0}
	reg := s.Registration
	who := reg.Account
	switch {
	case ringing != nil && live == nil:
		st.Icon, st.Status = IconRinging, t.T("status.ringing", CallerLabel(*ringing, t))
	case live != nil:
		st.Icon, st.Status = IconInCall, t.T("status.inCall", CallerLabel(*live, t))
	case reg.State == app.RegFailed:
		st.Icon, st.Status = IconError, t.T("status.error", ReasonText(reg, t))
	case reg.State != app.RegRegistered:
		st.Icon, st.Status = IconConnecting, t.T("status.connecting", reg.Server)
	case s.Presence == backend.DND:
		st.Icon, st.Status = IconDND, t.T("status.dnd", who)
	case s.Presence == backend.Away:
		st.Icon, st.Status = IconAway, t.T("status.away", who)
	default:
		st.Icon, st.Status = IconAvailable, t.T("status.available", who)
	}
	return st
}

// CallerLabel is how a caller is named: the CRM name with the number, or
// the number alone.
func CallerLabel(c app.Call, t Text) string {
	switch {
	case c.Name != "" && c.Number != "" && c.Name != c.Number:
		return t.T("call.nameAndNumber", c.Name, c.Number)
	case c.Name != "":
		return c.Name
	case c.Number != "":
		return c.Number
	}
	return t.T("call.unknown")
}

// ReasonText translates a failed registration's cause.
func ReasonText(r app.Registration, t Text) string {
	switch backend.Classify(r) {
	case backend.KindAuth:
		return t.T("err.auth")
	case backend.KindNotFound:
		return t.T("err.notfound")
	case backend.KindTLS:
		return t.T("err.tls")
	case backend.KindUnresolved:
		return t.T("err.unresolved")
	case backend.KindUnreachable:
		return t.T("err.unreachable")
	}
	if r.Error == "" {
		return t.T("err.unreachable")
	}
	return t.T("err.rejected", r.Error)
}
