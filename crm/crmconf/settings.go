// Package crmconf holds the agent's Dynamics 365 integration settings
// (SPEC B4, C1–C5) with their defaults and validation.
//
// It is a leaf package on purpose: package crm imports package app (for
// the call snapshots it observes), so app's config cannot import crm
// without a cycle; it imports this package instead, and crm re-exports the
// type as crm.Settings. It imports nothing from the rest of Switchboard.
//
// In the config file the settings live in the [crm] section, beside the
// organisation URL(s) that app.Config already holds:
//
//	[crm]
//	url = "https://org.crm.dynamics.com"
//	default_country = "CN"          # ISO 3166 code national numbers belong to
//	extension_digits = 6            # numbers this short are internal extensions
//	match_mode = "exact"            # exact | last_digits
//	match_digits = 8                # N for last_digits (4–15)
//	match_entities = ["contact", "account", "lead"]
//	screen_pop = "ringing"          # manual | ringing | answered | ended
//	screen_pop_outbound = false     # also pop on outbound calls
//	auto_expand = true              # expand the side panel on incoming calls (B4)
//	contact_creation = "manual"     # off | manual | auto
//	contact_create_on = ["inbound", "outbound"]
//	contact_create_as = "contact"   # contact | account | lead
//	activity_page = true            # open the activity page on answered external calls
//	activity_auto_create = ["inbound", "outbound"]  # [] = create on Save only
//	activity_autosave = true        # save activity edits while typing
//	recording_attach = false        # attach the recording to the phone call (C5)
//	recording_max_base64 = 5242880  # the org's attachment limit, on the Base64 text
//
// The agent's own changes are kept as JSON (the same names in camelCase,
// e.g. "matchMode") and applied over the administrator's preset with
// WithOverrides, so the agent's choice wins for the keys the agent set and
// the preset holds for the rest.
package crmconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Match modes (C1).
const (
	MatchExact      = "exact"
	MatchLastDigits = "last_digits"
)

// Screen pop triggers (C3). Manual means only the call card's button.
const (
	PopManual   = "manual"
	PopRinging  = "ringing"
	PopAnswered = "answered"
	PopEnded    = "ended"
)

// Contact creation modes (C2). Off hides the "add" offer entirely.
const (
	CreateOff    = "off"
	CreateManual = "manual"
	CreateAuto   = "auto"
)

// Call directions as the settings name them.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// Entities a number is matched against and created as.
const (
	EntityContact = "contact"
	EntityAccount = "account"
	EntityLead    = "lead"
)

// DefaultRecordingMaxBase64 is Dataverse's default attachment limit
// (5 MB), which the org measures on the Base64 text of the file.
const DefaultRecordingMaxBase64 = 5 * 1024 * 1024

// Settings are every Dynamics integration option an agent can change and
// an administrator can preset.
type Settings struct {
	// DefaultCountry is the ISO 3166-1 alpha-2 code ("CN", "GB") that
	// numbers without a country code belong to. Empty: such numbers are
	// compared on their digits only.
	DefaultCountry string `toml:"default_country" json:"defaultCountry"`
	// ExtensionDigits: a number of at most this many digits, without +
	// or 00, is an internal extension. Internal calls are never matched,
	// popped, created or logged in Dynamics.
	ExtensionDigits int `toml:"extension_digits" json:"extensionDigits"`

	// MatchMode is exact (the normalised numbers are equal) or
	// last_digits (their last MatchDigits digits are).
	MatchMode   string `toml:"match_mode" json:"matchMode"`
	MatchDigits int    `toml:"match_digits" json:"matchDigits"`
	// MatchEntities are searched, in this order (the order of the
	// matches the agent is offered).
	MatchEntities []string `toml:"match_entities" json:"matchEntities"`

	// ScreenPop is when the matched record opens by itself.
	ScreenPop string `toml:"screen_pop" json:"screenPop"`
	// ScreenPopOutbound pops on outbound calls as well; by default only
	// callers are popped (an agent dialling out usually has the record
	// open already).
	ScreenPopOutbound bool `toml:"screen_pop_outbound" json:"screenPopOutbound"`
	// AutoExpand docks the collapsed side panel when a call comes in (B4).
	AutoExpand bool `toml:"auto_expand" json:"autoExpand"`

	// ContactCreation is off, manual (offer "add" on unknown numbers) or
	// auto (create for the directions in ContactCreateOn).
	ContactCreation string   `toml:"contact_creation" json:"contactCreation"`
	ContactCreateOn []string `toml:"contact_create_on" json:"contactCreateOn"`
	ContactCreateAs string   `toml:"contact_create_as" json:"contactCreateAs"`

	// ActivityPage opens the call activity page when an external call is
	// answered.
	ActivityPage bool `toml:"activity_page" json:"activityPage"`
	// ActivityAutoCreate lists the directions whose answered external
	// calls get a phonecall activity at once; for the others the
	// activity is written when the agent saves.
	ActivityAutoCreate []string `toml:"activity_auto_create" json:"activityAutoCreate"`
	// ActivityAutosave writes the agent's edits as they type instead of
	// on Save.
	ActivityAutosave bool `toml:"activity_autosave" json:"activityAutosave"`

	// RecordingAttach attaches the call recording to its phonecall as a
	// note (C5); RecordingMaxBase64 is the org's limit on the note's
	// Base64 document body.
	RecordingAttach    bool `toml:"recording_attach" json:"recordingAttach"`
	RecordingMaxBase64 int  `toml:"recording_max_base64" json:"recordingMaxBase64"`
}

// Default returns the settings of a fresh install.
func Default() Settings {
	return Settings{
		ExtensionDigits:    6,
		MatchMode:          MatchExact,
		MatchDigits:        8,
		MatchEntities:      []string{EntityContact, EntityAccount, EntityLead},
		ScreenPop:          PopRinging,
		AutoExpand:         true,
		ContactCreation:    CreateManual,
		ContactCreateOn:    []string{Inbound, Outbound},
		ContactCreateAs:    EntityContact,
		ActivityPage:       true,
		ActivityAutoCreate: []string{Inbound, Outbound},
		ActivityAutosave:   true,
		RecordingMaxBase64: DefaultRecordingMaxBase64,
	}
}

// FieldError says which setting is wrong and what to do about it. Key is
// the config-file name, JSON the name the widget uses.
type FieldError struct {
	Key, JSON string
	Msg       string
}

func (e *FieldError) Error() string { return "crm." + e.Key + ": " + e.Msg }

// Limits on the numeric settings.
const (
	MinMatchDigits, MaxMatchDigits         = 4, 15
	MinExtensionDigits, MaxExtensionDigits = 1, 8
	// MinRecordingMaxBase64 keeps a typo (a limit in MB written as 5)
	// from silently dropping every recording.
	MinRecordingMaxBase64 = 64 * 1024
	MaxRecordingMaxBase64 = 128 * 1024 * 1024
)

// Validate checks every field and returns all problems, each a
// *FieldError (use errors.As, or errors.Join's Unwrap() []error).
func (s Settings) Validate() error {
	var errs []error
	bad := func(key, js, format string, a ...any) {
		errs = append(errs, &FieldError{Key: key, JSON: js, Msg: fmt.Sprintf(format, a...)})
	}
	if s.DefaultCountry != "" && phonenumbers.GetCountryCodeForRegion(strings.ToUpper(s.DefaultCountry)) == 0 {
		bad("default_country", "defaultCountry", "%q is not a country code: use a two-letter ISO 3166 code such as CN, GB or US", s.DefaultCountry)
	}
	if s.ExtensionDigits < MinExtensionDigits || s.ExtensionDigits > MaxExtensionDigits {
		bad("extension_digits", "extensionDigits", "%d: use %d to %d (the length of the longest internal extension)", s.ExtensionDigits, MinExtensionDigits, MaxExtensionDigits)
	}
	switch s.MatchMode {
	case MatchExact, MatchLastDigits:
	default:
		bad("match_mode", "matchMode", "%q: use %q or %q", s.MatchMode, MatchExact, MatchLastDigits)
	}
	if s.MatchDigits < MinMatchDigits || s.MatchDigits > MaxMatchDigits {
		bad("match_digits", "matchDigits", "%d: use %d to %d digits (fewer would match strangers)", s.MatchDigits, MinMatchDigits, MaxMatchDigits)
	}
	if len(s.MatchEntities) == 0 {
		bad("match_entities", "matchEntities", "empty: give at least one of contact, account, lead")
	}
	seen := map[string]bool{}
	for _, e := range s.MatchEntities {
		switch {
		case !isEntity(e):
			bad("match_entities", "matchEntities", "%q: use contact, account or lead", e)
		case seen[e]:
			bad("match_entities", "matchEntities", "%q is listed twice", e)
		}
		seen[e] = true
	}
	switch s.ScreenPop {
	case PopManual, PopRinging, PopAnswered, PopEnded:
	default:
		bad("screen_pop", "screenPop", "%q: use manual, ringing, answered or ended", s.ScreenPop)
	}
	switch s.ContactCreation {
	case CreateOff, CreateManual, CreateAuto:
	default:
		bad("contact_creation", "contactCreation", "%q: use off, manual or auto", s.ContactCreation)
	}
	if err := directions(s.ContactCreateOn); err != "" {
		bad("contact_create_on", "contactCreateOn", "%s", err)
	}
	if s.ContactCreation == CreateAuto && len(s.ContactCreateOn) == 0 {
		bad("contact_create_on", "contactCreateOn", "empty while contact_creation is auto: give inbound, outbound or both")
	}
	if !isEntity(s.ContactCreateAs) {
		bad("contact_create_as", "contactCreateAs", "%q: use contact, account or lead", s.ContactCreateAs)
	}
	if err := directions(s.ActivityAutoCreate); err != "" {
		bad("activity_auto_create", "activityAutoCreate", "%s", err)
	}
	if s.RecordingMaxBase64 < MinRecordingMaxBase64 || s.RecordingMaxBase64 > MaxRecordingMaxBase64 {
		bad("recording_max_base64", "recordingMaxBase64", "%d: give the limit in bytes, %d to %d (Dataverse's default is %d)",
			s.RecordingMaxBase64, MinRecordingMaxBase64, MaxRecordingMaxBase64, DefaultRecordingMaxBase64)
	}
	return errors.Join(errs...)
}

func isEntity(e string) bool {
	return e == EntityContact || e == EntityAccount || e == EntityLead
}

func directions(l []string) string {
	for i, d := range l {
		if d != Inbound && d != Outbound {
			return fmt.Sprintf("%q: use inbound or outbound", d)
		}
		if slices.Contains(l[:i], d) {
			return fmt.Sprintf("%q is listed twice", d)
		}
	}
	return ""
}

// Canonical returns s with the country code in upper case, the form the
// rest of the code compares against.
func (s Settings) Canonical() Settings {
	s.DefaultCountry = strings.ToUpper(strings.TrimSpace(s.DefaultCountry))
	return s
}

// Clone returns a deep copy (the lists are not shared).
func (s Settings) Clone() Settings {
	s.MatchEntities = slices.Clone(s.MatchEntities)
	s.ContactCreateOn = slices.Clone(s.ContactCreateOn)
	s.ActivityAutoCreate = slices.Clone(s.ActivityAutoCreate)
	return s
}

// WithOverrides applies the agent's saved changes (a JSON object with
// any subset of the fields) over s, the administrator's preset, and
// validates the result. Unknown keys are an error so a misspelt key is
// seen rather than ignored. s itself is not modified.
func (s Settings) WithOverrides(agent json.RawMessage) (Settings, error) {
	out := s.Clone()
	if len(bytes.TrimSpace(agent)) == 0 || string(bytes.TrimSpace(agent)) == "null" {
		return out.Canonical(), out.Validate()
	}
	dec := json.NewDecoder(bytes.NewReader(agent))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return s.Clone(), fmt.Errorf("crm settings: %w", err)
	}
	if dec.More() {
		return s.Clone(), errors.New("crm settings: trailing data after the JSON object")
	}
	out = out.Canonical()
	if err := out.Validate(); err != nil {
		return s.Clone(), err
	}
	return out, nil
}

// Directed reports whether dir ("inbound"/"outbound") is in list.
func Directed(list []string, dir string) bool { return slices.Contains(list, dir) }
