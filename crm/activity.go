package crm

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf16"

	"switchboard/app"
)

// Dataverse column limits the payloads respect (phonecall and contact
// reference; lengths are in characters, which SQL counts in UTF-16).
const (
	maxSubject     = 200
	maxDescription = 2000
	maxPhoneNumber = 200
	maxLastName    = 50
	maxAccountName = 160
	maxNoteText    = 100000
)

// Participation types of an activity party (activityparty reference).
const (
	PartyFrom = 1 // Sender
	PartyTo   = 2 // To Recipient
)

// Phonecall states and statuses (phonecall reference): completing a call
// is an update to statecode 1 with statuscode 2 (Made) or 4 (Received);
// statecode is not accepted on create.
const (
	StateOpen, StateCompleted, StateCanceled = 0, 1, 2
	StatusOpen, StatusMade, StatusReceived   = 1, 2, 4
)

// RegardingNav names the single-valued navigation property that binds a
// phonecall's "regarding" to a record of the given table. Dynamics lists
// both regardingobjectid_<table> (inherited from activitypointer, the form
// Microsoft's CIF sample uses) and regardingobjectid_<table>_phonecall;
// the first is used so one spelling serves every table.
func RegardingNav(entity string) string { return "regardingobjectid_" + entity }

// PhoneCall is a call as its Dataverse phonecall activity records it.
type PhoneCall struct {
	// ID is the activityid, chosen by us (StableID) so a create whose
	// answer was lost can be found and is never made twice.
	ID          string        `json:"id"`
	Direction   app.Direction `json:"direction"`
	Number      string        `json:"number"` // the remote number as the agent saw it
	Subject     string        `json:"subject,omitempty"`
	Description string        `json:"description,omitempty"` // the agent's notes, without the quality line
	Start       time.Time     `json:"start,omitzero"`
	End         time.Time     `json:"end,omitzero"`
	Answered    bool          `json:"answered,omitempty"`
	Quality     *app.Quality  `json:"quality,omitempty"`
	// Agent is the systemuser id of the agent; filled when the write is
	// sent, so a write queued before the widget reported it still works.
	Agent string `json:"agent,omitempty"`
	// Party is the caller's (callee's) record, if known.
	Party *Ref `json:"party,omitempty"`
	// Regarding is the opportunity the call is about; nil means the
	// party's record.
	Regarding *Ref `json:"regarding,omitempty"`
	// LCID is the organisation's language when the write was made: the
	// quality line is written in it.
	LCID int `json:"lcid,omitempty"`
}

// Outbound reports whether the agent placed the call.
func (p PhoneCall) Outbound() bool { return p.Direction == app.Outbound }

// DefaultSubject is the subject of a call the agent has not titled.
func DefaultSubject(dir app.Direction, name, number string) string {
	return SubjectIn(0, dir, name, number)
}

// orgLang is the language of the text the app writes into Dynamics, from
// the organisation's Windows LCID (getEnvironment's orgLcid).
type orgLang int

const (
	langEnglish orgLang = iota
	langSimplified
	langTraditional
)

func langOf(lcid int) orgLang {
	switch lcid {
	case 2052, 4100: // zh-CN, zh-SG
		return langSimplified
	case 1028, 3076, 5124: // zh-TW, zh-HK, zh-MO
		return langTraditional
	}
	return langEnglish
}

// SubjectIn is the default subject in the organisation's language, given
// as a Windows LCID (getEnvironment's orgLcid): Chinese for the Chinese
// locales, English otherwise (and for 0, not known yet).
func SubjectIn(lcid int, dir app.Direction, name, number string) string {
	who := strings.TrimSpace(name)
	number = strings.TrimSpace(number)
	open, close, from, to := " (", ")", "Call from ", "Call to "
	switch langOf(lcid) {
	case langSimplified:
		open, close, from, to = "（", "）", "来电：", "去电："
	case langTraditional:
		open, close, from, to = "（", "）", "來電：", "去電："
	}
	if who == "" {
		who = number
	} else if number != "" && !strings.Contains(who, number) {
		who += open + number + close
	}
	if dir == app.Outbound {
		return truncUTF16(to+who, maxSubject)
	}
	return truncUTF16(from+who, maxSubject)
}

// qualityFormats are the quality line in each language the app writes;
// the part before the first verb is how a stored line is recognised.
var qualityFormats = [...]string{
	langEnglish:     "Quality: loss %.1f %%, jitter %.0f ms, MOS %.1f",
	langSimplified:  "通话质量：丢包 %.1f %%，抖动 %.0f ms，MOS %.1f",
	langTraditional: "通話品質：封包遺失 %.1f %%，抖動 %.0f ms，MOS %.1f",
}

// QualitySummary is the one-line call quality report appended to the
// activity description, e.g. "Quality: loss 0.4 %, jitter 12 ms, MOS 4.2".
func QualitySummary(q *app.Quality) string { return QualitySummaryIn(0, q) }

// QualitySummaryIn is QualitySummary in the organisation's language (see
// SubjectIn), e.g. "通话质量：丢包 0.4 %，抖动 12 ms，MOS 4.2".
func QualitySummaryIn(lcid int, q *app.Quality) string {
	if q == nil || !finite(q.LossPct) || !finite(q.JitterMs) || !finite(q.MOS) {
		return ""
	}
	return fmt.Sprintf(qualityFormats[langOf(lcid)],
		math.Max(0, q.LossPct), math.Max(0, q.JitterMs), math.Max(0, q.MOS))
}

// isQualityLine reports whether line is a quality line the app wrote, in
// any of its languages and with any figures.
func isQualityLine(line string) bool {
	for _, f := range qualityFormats {
		head, _, _ := strings.Cut(f, "%")
		if strings.HasPrefix(line, head) && strings.Contains(line, "MOS ") {
			return true
		}
	}
	return false
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// DurationMinutes is actualdurationminutes: the talk time (answer to
// hang-up) rounded up to whole minutes, so any answered call that lasted
// at all counts at least 1 minute; unanswered calls count 0. The column
// is a plain integer Dynamics does not compute itself; rounding up is
// what agents expect of a billed-style duration.
func DurationMinutes(answered, ended time.Time) int {
	if answered.IsZero() || ended.IsZero() || !ended.After(answered) {
		return 0
	}
	d := ended.Sub(answered)
	return int((d + time.Minute - 1) / time.Minute)
}

// isoTime formats a time the way the Web API takes DateTime values.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// FullDescription is the description column: the agent's notes, then the
// quality line, within the column's 2 000 characters.
func (p PhoneCall) FullDescription() string {
	q := QualitySummaryIn(p.LCID, p.Quality)
	notes := strings.TrimRight(p.Description, " \n\r\t")
	if q == "" {
		return truncUTF16(notes, maxDescription)
	}
	if notes == "" {
		return q
	}
	return truncUTF16(notes, maxDescription-utf16Len(q)-2) + "\n\n" + q
}

func (p PhoneCall) fields() map[string]any {
	m := map[string]any{
		"subject":       truncUTF16(orDefault(p.Subject, DefaultSubject(p.Direction, partyName(p.Party), p.Number)), maxSubject),
		"phonenumber":   truncUTF16(p.Number, maxPhoneNumber),
		"directioncode": p.Outbound(),
		"description":   p.FullDescription(),
	}
	start := p.Start
	if !start.IsZero() {
		m["actualstart"] = isoTime(start)
	}
	if !p.End.IsZero() {
		m["actualend"] = isoTime(p.End)
		if p.Answered {
			m["actualdurationminutes"] = DurationMinutes(p.Start, p.End)
		} else {
			m["actualdurationminutes"] = 0
		}
	}
	switch {
	case p.Regarding != nil:
		if e, ok := EntityInfo(p.Regarding.Entity); ok {
			m[RegardingNav(e.Name)+"@odata.bind"] = "/" + e.Set + "(" + p.Regarding.ID + ")"
		}
	case p.Party != nil:
		if e, ok := EntityInfo(p.Party.Entity); ok {
			m[RegardingNav(e.Name)+"@odata.bind"] = "/" + e.Set + "(" + p.Party.ID + ")"
		}
	}
	return m
}

func partyName(r *Ref) string {
	if r == nil {
		return ""
	}
	return r.Name
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// Parties is the phonecall_activity_parties collection: the agent and the
// record, From and To by direction (outbound: agent → record; inbound:
// record → agent).
func (p PhoneCall) Parties() []map[string]any {
	agentMask, partyMask := PartyFrom, PartyTo
	if !p.Outbound() {
		agentMask, partyMask = PartyTo, PartyFrom
	}
	var out []map[string]any
	if p.Agent != "" {
		out = append(out, map[string]any{
			"partyid_systemuser@odata.bind": "/systemusers(" + p.Agent + ")",
			"participationtypemask":         agentMask,
		})
	}
	if p.Party != nil {
		if e, ok := EntityInfo(p.Party.Entity); ok {
			out = append(out, map[string]any{
				"partyid_" + e.Name + "@odata.bind": "/" + e.Set + "(" + p.Party.ID + ")",
				"participationtypemask":             partyMask,
			})
		}
	}
	return out
}

// CreateBody is the createRecord("phonecall", …) data: every known field,
// our chosen activityid, and the parties. No statecode: Dataverse does
// not accept it on create.
func (p PhoneCall) CreateBody() (json.RawMessage, error) {
	if _, err := NormalizeGUID(p.ID); err != nil {
		return nil, fmt.Errorf("phonecall: %w", err)
	}
	m := p.fields()
	m["activityid"] = p.ID
	if ps := p.Parties(); len(ps) > 0 {
		m["phonecall_activity_parties"] = ps
	}
	return json.Marshal(m)
}

// UpdateBody is the updateRecord data for an open phonecall. The parties
// are replaced only when withParties is set (the agent chose another
// record), because rewriting them on every keystroke would churn them.
func (p PhoneCall) UpdateBody(withParties bool) (json.RawMessage, error) {
	m := p.fields()
	if withParties {
		m["phonecall_activity_parties"] = p.Parties()
	}
	return json.Marshal(m)
}

// StateBody is the update that completes (Made for outbound, Received
// for inbound) or, with open, reopens a phonecall.
func StateBody(dir app.Direction, open bool) json.RawMessage {
	switch {
	case open:
		return json.RawMessage(`{"statecode":0,"statuscode":1}`)
	case dir == app.Outbound:
		return json.RawMessage(`{"statecode":1,"statuscode":2}`)
	default:
		return json.RawMessage(`{"statecode":1,"statuscode":4}`)
	}
}

// Recording is a finished call recording on the agent's disk.
type Recording struct {
	Path string `json:"path"`
	Name string `json:"name"` // file name shown in Dynamics
	MIME string `json:"mime"` // e.g. audio/wav
}

// NoteBody is the createRecord("annotation", …) data attaching a
// recording to the phonecall. data is the file (nil when not read) and
// size its length (negative: the file is gone). If the Base64 text would
// exceed maxBase64 (the org's attachment limit) the note says so instead
// of carrying the file, so the write still succeeds; attached reports
// which.
func NoteBody(noteID, phonecallID string, rec Recording, data []byte, size int64, maxBase64 int) (body json.RawMessage, attached bool, err error) {
	if _, err := NormalizeGUID(noteID); err != nil {
		return nil, false, fmt.Errorf("note: %w", err)
	}
	if _, err := NormalizeGUID(phonecallID); err != nil {
		return nil, false, fmt.Errorf("note: %w", err)
	}
	name := rec.Name
	if name == "" {
		name = "recording.wav"
	}
	mime := rec.MIME
	if mime == "" {
		mime = "audio/wav"
	}
	m := map[string]any{
		"annotationid":                  noteID,
		"subject":                       truncUTF16("Call recording "+name, maxSubject),
		"objectid_phonecall@odata.bind": "/phonecalls(" + phonecallID + ")",
		"isdocument":                    false,
	}
	if data != nil {
		size = int64(len(data))
	}
	switch {
	case size < 0:
		m["notetext"] = "The recording " + name + " is no longer on the agent's computer."
	case data == nil || base64.StdEncoding.EncodedLen(len(data)) > maxBase64:
		m["notetext"] = fmt.Sprintf("The recording %s (%s) is larger than the organisation's attachment limit (%s of Base64), so it was not attached; it stays on the PBX and the agent's computer.",
			name, humanBytes(size), humanBytes(int64(maxBase64)))
	default:
		m["notetext"] = "Call recording."
		m["filename"] = name
		m["mimetype"] = mime
		m["documentbody"] = base64.StdEncoding.EncodeToString(data)
		m["isdocument"] = true
		attached = true
	}
	body, err = json.Marshal(m)
	return body, attached, err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// NewRecordName is the name of a record created for an unknown number.
func NewRecordName(n Number) string {
	num := n.E164
	if num == "" {
		num = n.Digits
	}
	return "Automatic New Contact " + num
}

// NewRecordBody is the createRecord data for an unknown number saved as a
// contact, account or lead, named "Automatic New Contact <number>", with
// our chosen id. The number goes in the mobile column when the numbering
// plan says it is a mobile, else in telephone1, in E.164 so it matches
// exactly later.
func NewRecordBody(entity, id string, n Number) (json.RawMessage, error) {
	e, ok := EntityInfo(entity)
	if !ok || len(e.Phones) == 0 {
		return nil, fmt.Errorf("new record: cannot create a %q", entity)
	}
	if _, err := NormalizeGUID(id); err != nil {
		return nil, fmt.Errorf("new record: %w", err)
	}
	num := n.E164
	if num == "" {
		num = n.Digits
	}
	if num == "" {
		return nil, fmt.Errorf("new record: %w", ErrNoNumber)
	}
	name := NewRecordName(n)
	col := "telephone1"
	if n.Mobile && entity != "account" {
		col = "mobilephone"
	}
	m := map[string]any{e.IDField: id, col: num}
	switch entity {
	case "account":
		m["name"] = truncUTF16(name, maxAccountName)
	case "lead":
		m["lastname"] = truncUTF16(name, maxLastName)
		m["subject"] = truncUTF16(name, 300)
	default:
		// lastname alone, so the full name reads the same whatever the
		// org's name format (Chinese orgs put the last name first).
		m["lastname"] = truncUTF16(name, maxLastName)
	}
	return json.Marshal(m)
}

// StableID derives a record id from parts (UUID version 5 layout over
// SHA-1), so the same call always writes the same records: a retried
// create can be detected, and Dataverse refuses a second record with the
// same key rather than duplicating it.
func StableID(parts ...string) string {
	h := sha1.New()
	h.Write([]byte("switchboard.crm/v1"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	s := h.Sum(nil)
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncUTF16 cuts s to at most max UTF-16 units (how SQL Server counts
// nvarchar length), on a rune boundary, marking the cut with an ellipsis.
func truncUTF16(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf16Len(s) <= max {
		return s
	}
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if n+w > max-1 {
			return s[:i] + "…"
		}
		n += w
	}
	return s
}
