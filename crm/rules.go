package crm

import (
	"switchboard/app"
	"switchboard/crm/crmconf"
)

// Settings are the agent's Dynamics integration options (C1–C5, B4); see
// package crmconf for the fields, the config keys and validation.
type Settings = crmconf.Settings

// DefaultSettings returns the settings of a fresh install.
func DefaultSettings() Settings { return crmconf.Default() }

// NumberOptionsOf returns how s reads numbers.
func NumberOptionsOf(s Settings) NumberOptions {
	return NumberOptions{DefaultCountry: s.Canonical().DefaultCountry, ExtensionDigits: s.ExtensionDigits}
}

// MatchRuleOf returns the matching rule s chooses (C1).
func MatchRuleOf(s Settings) MatchRule {
	r := MatchRule{Numbers: NumberOptionsOf(s)}
	if s.MatchMode == crmconf.MatchLastDigits {
		r.LastDigits = s.MatchDigits
	}
	return r
}

// Facts are what the rules need to know about a call.
type Facts struct {
	Direction app.Direction
	// External: the number is outside the PBX (not an extension) and
	// could be read.
	External bool
	// Live: the call was observed from its start; calls first seen
	// already ended (history, a restart) get no automatic action.
	Live     bool
	Answered bool
	Ended    bool
	// Matched: the CRM search finished; Matches is how many records it
	// confirmed.
	Matched bool
	Matches int
	// Done flags, so every automatic action happens once per call.
	Popped, Created, ActivityStarted, PageShown, Expanded bool
}

func dir(d app.Direction) string {
	if d == app.Outbound {
		return crmconf.Outbound
	}
	return crmconf.Inbound
}

// ShouldExpand: dock the collapsed panel for an incoming call (B4).
func ShouldExpand(s Settings, f Facts) bool {
	return s.AutoExpand && f.Live && !f.Expanded && f.Direction == app.Inbound && !f.Answered && !f.Ended
}

// ShouldPop: the screen pop is due (C3). Ringing pops as soon as the
// records are known (even if the agent answered meanwhile); answered pops
// once answered; ended pops after a conversation (a missed call does not
// pop a record at an agent who was away). Outbound calls pop only when
// screen_pop_outbound is set.
func ShouldPop(s Settings, f Facts) bool {
	if !f.Live || !f.External || f.Popped || !f.Matched {
		return false
	}
	if f.Direction == app.Outbound && !s.ScreenPopOutbound {
		return false
	}
	switch s.ScreenPop {
	case crmconf.PopRinging:
		return true
	case crmconf.PopAnswered:
		return f.Answered
	case crmconf.PopEnded:
		return f.Ended && f.Answered
	}
	return false
}

// PopKind is what a screen pop does.
type PopKind string

const (
	// PopOpen opens the one matching record.
	PopOpen PopKind = "open"
	// PopSearch opens Dynamics' search page on the number, and the call
	// card offers the matches as a picker.
	PopSearch PopKind = "search"
	// PopOfferAdd: nothing matched; the call card offers "add as …".
	PopOfferAdd PopKind = "offer-add"
)

// PopPlan is the screen pop for a set of matches.
type PopPlan struct {
	Kind   PopKind
	Target Ref    // PopOpen
	Entity string // PopSearch: the table whose search page opens
	Search string // PopSearch: the search text
}

// PlanPop decides the pop for matches; chosen (the agent's pick among
// several) wins.
func PlanPop(matches []Record, chosen *Ref) PopPlan {
	switch {
	case chosen != nil:
		return PopPlan{Kind: PopOpen, Target: *chosen}
	case len(matches) == 1:
		return PopPlan{Kind: PopOpen, Target: matches[0].Ref}
	case len(matches) == 0:
		return PopPlan{Kind: PopOfferAdd}
	}
	// Dynamics' search page covers one table at a time; the first
	// match's table is the one the agent ranked first. The search text
	// is the number as stored on that record, which the relevance search
	// tokenises the same way.
	m := matches[0]
	text := ""
	for _, col := range []string{"mobilephone", "telephone1", "telephone2", "telephone3"} {
		if v := m.Phones[col]; v != "" {
			text = v
			break
		}
	}
	return PopPlan{Kind: PopSearch, Entity: m.Entity, Search: text}
}

// ShouldCreate: save the unknown number in Dynamics now (C2, automatic).
// Inbound numbers are created once the call is answered (not for every
// caller who hangs up while ringing); outbound ones as they are dialled.
func ShouldCreate(s Settings, f Facts) bool {
	if s.ContactCreation != crmconf.CreateAuto || !f.Live || !f.External || f.Created || !f.Matched || f.Matches > 0 {
		return false
	}
	if !crmconf.Directed(s.ContactCreateOn, dir(f.Direction)) {
		return false
	}
	return f.Direction == app.Outbound || f.Answered
}

// OfferAdd: the call card shows "add as contact/account/lead" (C2 manual).
func OfferAdd(s Settings, f Facts) bool {
	return s.ContactCreation != crmconf.CreateOff && f.External && f.Matched && f.Matches == 0 && !f.Created
}

// ShouldStartActivity: create the phonecall at answer (C4 automatic).
func ShouldStartActivity(s Settings, f Facts) bool {
	return f.Live && f.External && f.Answered && !f.ActivityStarted &&
		crmconf.Directed(s.ActivityAutoCreate, dir(f.Direction))
}

// ShouldShowActivityPage: open the activity page in the widget when an
// external call is answered (C4).
func ShouldShowActivityPage(s Settings, f Facts) bool {
	return s.ActivityPage && f.Live && f.External && f.Answered && !f.PageShown
}

// AutoCreatesActivity reports whether calls in direction d get their
// activity without the agent saving.
func AutoCreatesActivity(s Settings, d app.Direction) bool {
	return crmconf.Directed(s.ActivityAutoCreate, dir(d))
}
