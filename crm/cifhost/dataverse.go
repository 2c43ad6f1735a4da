package cifhost

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Error is a Dataverse Web API error: the HTTP status and the
// {"error":{"code","message"}} body.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message + " (" + e.Code + ")" }

// Error codes the double uses (Dataverse's own where known).
const (
	codeNotFound    = "0x80040217"
	codeDuplicate   = "0x80040237"
	codeBadProperty = "0x80060888"
	codeTooLong     = "0x80044331"
	codeAttachment  = "0x80043e09"
	codeBadState    = "0x80040203"
	codeInjected    = "0x80040216"
)

func errNotFound(entity, id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: codeNotFound, Message: fmt.Sprintf("%s With Id = %s Does Not Exist", entity, id)}
}

func errBad(code, format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, a...)}
}

type attrKind int

const (
	aString attrKind = iota
	aBool
	aInt
	aMoney
	aDateTime
	aState
	aStatus
	aReadOnly // computed or system-set
)

type attr struct {
	kind attrKind
	max  int // strings: max length in UTF-16 units
}

type lookup struct {
	column string // e.g. regardingobjectid
	target string // entity
}

type table struct {
	name, set, id, primary string
	attrs                  map[string]attr
	navs                   map[string]lookup // nav property → lookup
	parties                string            // collection nav of activity parties, if any
	readOnly               bool              // cannot be created through the API
	rows                   map[string]map[string]any
	order                  []string
}

func (t *table) lookupCols() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range t.navs {
		if !seen[l.column] {
			seen[l.column] = true
			out = append(out, "_"+l.column+"_value")
		}
	}
	slices.Sort(out)
	return out
}

// hasColumn: the column may be selected or filtered on.
func (t *table) hasColumn(c string) bool {
	if c == t.id {
		return true
	}
	if _, ok := t.attrs[c]; ok {
		return true
	}
	return slices.Contains(t.lookupCols(), c)
}

func phones(m map[string]attr, cols ...string) {
	for _, c := range cols {
		m[c] = attr{aString, 50}
	}
}

func newTables() map[string]*table {
	common := func() map[string]attr {
		return map[string]attr{
			"createdon": {kind: aReadOnly}, "modifiedon": {kind: aReadOnly},
			"statecode": {kind: aState}, "statuscode": {kind: aStatus},
		}
	}
	contact := common()
	phones(contact, "telephone1", "telephone2", "telephone3", "mobilephone", "fax", "pager")
	maps.Copy(contact, map[string]attr{
		"firstname": {aString, 50}, "lastname": {aString, 50}, "fullname": {kind: aReadOnly},
		"emailaddress1": {aString, 100}, "jobtitle": {aString, 100}, "description": {aString, 2000},
	})
	account := common()
	phones(account, "telephone1", "telephone2", "telephone3", "fax")
	maps.Copy(account, map[string]attr{
		"name": {aString, 160}, "emailaddress1": {aString, 100}, "websiteurl": {aString, 200},
		"accountnumber": {aString, 20}, "description": {aString, 2000},
	})
	lead := common()
	phones(lead, "telephone1", "telephone2", "telephone3", "mobilephone", "fax", "pager")
	maps.Copy(lead, map[string]attr{
		"firstname": {aString, 50}, "lastname": {aString, 50}, "fullname": {kind: aReadOnly},
		"subject": {aString, 300}, "companyname": {aString, 100}, "emailaddress1": {aString, 100},
		"description": {aString, 2000},
	})
	opportunity := common()
	maps.Copy(opportunity, map[string]attr{
		"name": {aString, 300}, "estimatedvalue": {aMoney, 0}, "description": {aString, 2000},
	})
	phonecall := common()
	maps.Copy(phonecall, map[string]attr{
		"subject": {aString, 200}, "description": {aString, 2000}, "phonenumber": {aString, 200},
		"directioncode": {aBool, 0}, "actualstart": {aDateTime, 0}, "actualend": {aDateTime, 0},
		"scheduledstart": {aDateTime, 0}, "scheduledend": {aDateTime, 0},
		"actualdurationminutes": {aInt, 0}, "scheduleddurationminutes": {aInt, 0},
		"category": {aString, 250}, "subcategory": {aString, 250},
	})
	annotation := map[string]attr{
		"createdon": {kind: aReadOnly}, "modifiedon": {kind: aReadOnly},
		"subject": {aString, 500}, "notetext": {aString, 100000}, "filename": {aString, 255},
		"mimetype": {aString, 256}, "documentbody": {aString, math.MaxInt32}, "isdocument": {aBool, 0},
		"filesize": {kind: aReadOnly}, "objecttypecode": {kind: aReadOnly},
	}
	systemuser := map[string]attr{
		"fullname": {aString, 200}, "domainname": {aString, 1024}, "internalemailaddress": {aString, 100},
		"createdon": {kind: aReadOnly},
	}
	regarding := map[string]lookup{}
	for _, t := range []string{"account", "contact", "lead", "opportunity"} {
		regarding["regardingobjectid_"+t] = lookup{"regardingobjectid", t}
		regarding["regardingobjectid_"+t+"_phonecall"] = lookup{"regardingobjectid", t}
	}
	object := map[string]lookup{}
	for _, t := range []string{"account", "contact", "lead", "opportunity", "phonecall"} {
		object["objectid_"+t] = lookup{"objectid", t}
	}
	mk := func(name, set, id, primary string, attrs map[string]attr, navs map[string]lookup) *table {
		if navs == nil {
			navs = map[string]lookup{}
		}
		return &table{name: name, set: set, id: id, primary: primary, attrs: attrs, navs: navs, rows: map[string]map[string]any{}}
	}
	ts := []*table{
		mk("contact", "contacts", "contactid", "fullname", contact, map[string]lookup{"parentcustomerid_account": {"parentcustomerid", "account"}}),
		mk("account", "accounts", "accountid", "name", account, nil),
		mk("lead", "leads", "leadid", "fullname", lead, nil),
		mk("opportunity", "opportunities", "opportunityid", "name", opportunity, map[string]lookup{
			"customerid_account": {"customerid", "account"}, "customerid_contact": {"customerid", "contact"},
			"parentaccountid": {"parentaccountid", "account"}, "parentcontactid": {"parentcontactid", "contact"},
		}),
		mk("phonecall", "phonecalls", "activityid", "subject", phonecall, regarding),
		mk("annotation", "annotations", "annotationid", "subject", annotation, object),
		mk("systemuser", "systemusers", "systemuserid", "fullname", systemuser, nil),
	}
	ts[4].parties = "phonecall_activity_parties"
	ts[6].readOnly = true
	out := map[string]*table{}
	for _, t := range ts {
		out[t.name] = t
	}
	return out
}

// Fault makes the next matching requests fail or stall, to test retries
// and timeouts.
type Fault struct {
	// Op is create, update, retrieve or query; empty matches any.
	Op string `json:"op,omitempty"`
	// Entity is the logical name; empty matches any.
	Entity string `json:"entity,omitempty"`
	// Count is how many requests it hits (default 1).
	Count int `json:"count,omitempty"`
	// Status and Message of the error answer (defaults 500 and a
	// generic message); Status 0 with a Delay only stalls.
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Delay stalls the answer (a CIF call times out after 10 s).
	Delay time.Duration `json:"delay,omitempty"`
	// AfterApply performs the operation and then fails: the answer is
	// lost but the write happened.
	AfterApply bool `json:"afterApply,omitempty"`
}

// DataverseOptions configure the in-memory Dataverse.
type DataverseOptions struct {
	// UserID is the signed-in agent's systemuser id (generated if empty).
	UserID   string
	UserName string
	// MaxAttachment is the limit on an annotation's documentbody, in
	// Base64 characters (default 5 MB, Dataverse's default).
	MaxAttachment int
}

// Dataverse is an in-memory Dataverse with the tables and the OData
// subset a CTI widget uses. It validates what real Dataverse validates
// (property names, types, lengths, lookups, states), so a misspelt field
// fails here as it would in an org. Safe for concurrent use.
type Dataverse struct {
	mu      sync.Mutex
	tables  map[string]*table
	faults  []*Fault
	userID  string
	maxAtt  int
	version int64
	now     func() time.Time
}

// NewDataverse returns a Dataverse holding only the signed-in user.
func NewDataverse(o DataverseOptions) *Dataverse {
	d := &Dataverse{tables: newTables(), userID: strings.ToLower(o.UserID), maxAtt: o.MaxAttachment, now: time.Now}
	if d.userID == "" {
		d.userID = NewGUID()
	}
	if d.maxAtt <= 0 {
		d.maxAtt = 5 * 1024 * 1024
	}
	name := o.UserName
	if name == "" {
		name = "Agent One"
	}
	d.insert(d.tables["systemuser"], d.userID, map[string]any{"fullname": name, "domainname": "agent@example.com", "internalemailaddress": "agent@example.com"})
	return d
}

// UserID is the signed-in agent's systemuser id.
func (d *Dataverse) UserID() string { return d.userID }

// NewGUID returns a random id in Dataverse's form.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var guidOnly = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func normGUID(s string) (string, bool) {
	g := strings.Trim(strings.ToLower(strings.TrimSpace(s)), "{}")
	return g, guidOnly.MatchString(g)
}

// tableBySet returns the table behind an entity set name ("contacts").
func (d *Dataverse) tableBySet(set string) *table {
	for _, t := range d.tables {
		if t.set == set {
			return t
		}
	}
	return nil
}

// EntityForSet maps an entity set name to its logical name.
func (d *Dataverse) EntityForSet(set string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.tableBySet(set); t != nil {
		return t.name, true
	}
	return "", false
}

func (d *Dataverse) table(entity string) (*table, *Error) {
	t, ok := d.tables[entity]
	if !ok {
		return nil, &Error{Status: http.StatusNotFound, Code: "0x80060888", Message: fmt.Sprintf("Resource not found for the segment '%s'.", entity)}
	}
	return t, nil
}

// Inject queues a fault.
func (d *Dataverse) Inject(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	d.mu.Lock()
	d.faults = append(d.faults, &f)
	d.mu.Unlock()
}

// ClearFaults removes every queued fault.
func (d *Dataverse) ClearFaults() {
	d.mu.Lock()
	d.faults = nil
	d.mu.Unlock()
}

// TakeFault returns the fault that hits this request, if any.
func (d *Dataverse) TakeFault(op, entity string) *Fault {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, f := range d.faults {
		if (f.Op == "" || f.Op == op) && (f.Entity == "" || f.Entity == entity) {
			c := *f
			f.Count--
			if f.Count <= 0 {
				d.faults = slices.Delete(d.faults, i, i+1)
			}
			return &c
		}
	}
	return nil
}

// FaultError is the error answer of a fault.
func FaultError(f *Fault) *Error {
	st := f.Status
	if st == 0 {
		st = http.StatusServiceUnavailable
	}
	msg := f.Message
	if msg == "" {
		msg = "Generic SQL error. (injected by the Dynamics host double)"
	}
	return &Error{Status: st, Code: codeInjected, Message: msg}
}

func (d *Dataverse) insert(t *table, id string, rec map[string]any) {
	d.version++
	now := d.now().UTC().Format(time.RFC3339)
	rec[t.id] = id
	rec["createdon"] = now
	rec["modifiedon"] = now
	rec["@odata.etag"] = `W/"` + strconv.FormatInt(d.version, 10) + `"`
	computeFields(t, rec)
	t.rows[id] = rec
	t.order = append(t.order, id)
}

func computeFields(t *table, rec map[string]any) {
	switch t.name {
	case "contact", "lead":
		fn, _ := rec["firstname"].(string)
		ln, _ := rec["lastname"].(string)
		rec["fullname"] = strings.TrimSpace(fn + " " + ln)
	case "annotation":
		if b, ok := rec["documentbody"].(string); ok && b != "" {
			rec["filesize"] = int64(base64.StdEncoding.DecodedLen(len(b)))
		}
		if o, ok := rec["_objectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"].(string); ok {
			rec["objecttypecode"] = o
		}
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// applyBody validates body against t and writes it into rec. create
// says whether rec is new.
func (d *Dataverse) applyBody(t *table, rec map[string]any, body map[string]any, create bool) *Error {
	keys := slices.Sorted(maps.Keys(body))
	for _, k := range keys {
		v := body[k]
		if nav, ok := strings.CutSuffix(k, "@odata.bind"); ok {
			l, ok := t.navs[nav]
			if !ok {
				return errBad(codeBadProperty, "An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.", nav)
			}
			ref, ok := v.(string)
			if !ok {
				return errBad(codeBadProperty, "The value of '%s' must be a URL string such as /%s(<id>).", k, d.tables[l.target].set)
			}
			id, e := d.resolveBind(ref, l.target)
			if e != nil {
				return e
			}
			// A lookup holds one target: a new bind replaces any other.
			rec["_"+l.column+"_value"] = id
			rec["_"+l.column+"_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = l.target
			continue
		}
		if strings.Contains(k, "@") {
			continue // other instance annotations are ignored, as by Dataverse
		}
		if k == t.parties && t.parties != "" {
			ps, e := d.parseParties(v)
			if e != nil {
				return e
			}
			rec[k] = ps
			continue
		}
		if k == t.id {
			if !create {
				return errBad(codeBadProperty, "The primary key %s cannot be changed.", k)
			}
			continue // taken care of by create
		}
		a, ok := t.attrs[k]
		if !ok {
			return errBad(codeBadProperty, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.%s'. Make sure to only use property names that are defined by the type.", k, t.name)
		}
		if v == nil {
			delete(rec, k)
			continue
		}
		switch a.kind {
		case aReadOnly:
			return errBad(codeBadProperty, "The property '%s' of %s cannot be set: it is read-only.", k, t.name)
		case aString:
			s, ok := v.(string)
			if !ok {
				return errBad(codeBadProperty, "Cannot convert a value to target type 'Edm.String' for property '%s'.", k)
			}
			if utf16Len(s) > a.max {
				return errBad(codeTooLong, "A validation error occurred. The length of the '%s' attribute of the '%s' entity exceeded the maximum allowed length of '%d'.", k, t.name, a.max)
			}
			rec[k] = s
		case aBool:
			b, ok := v.(bool)
			if !ok {
				return errBad(codeBadProperty, "Cannot convert the literal '%v' to the expected type 'Edm.Boolean' for property '%s'.", v, k)
			}
			rec[k] = b
		case aInt, aState, aStatus:
			n, ok := v.(json.Number)
			var i int64
			var err error
			if ok {
				i, err = n.Int64()
			}
			if !ok || err != nil || i < math.MinInt32 || i > math.MaxInt32 {
				return errBad(codeBadProperty, "Cannot convert the literal '%v' to the expected type 'Edm.Int32' for property '%s'.", v, k)
			}
			rec[k] = i
		case aMoney:
			n, ok := v.(json.Number)
			f, err := n.Float64()
			if !ok || err != nil {
				return errBad(codeBadProperty, "Cannot convert the literal '%v' to the expected type 'Edm.Decimal' for property '%s'.", v, k)
			}
			rec[k] = f
		case aDateTime:
			s, ok := v.(string)
			tm, err := time.Parse(time.RFC3339, s)
			if !ok || err != nil {
				return errBad(codeBadProperty, "Cannot convert the literal '%v' to the expected type 'Edm.DateTimeOffset' for property '%s'.", v, k)
			}
			rec[k] = tm.UTC().Format(time.RFC3339)
		}
	}
	return nil
}

// resolveBind reads "/contacts(<id>)" (or a full URL ending so) and checks
// the target exists.
func (d *Dataverse) resolveBind(ref, target string) (string, *Error) {
	i := strings.LastIndexByte(ref, '/')
	seg := ref[i+1:]
	open := strings.IndexByte(seg, '(')
	if open < 0 || !strings.HasSuffix(seg, ")") {
		return "", errBad(codeBadProperty, "The URL '%s' in an @odata.bind is not a valid entity reference.", ref)
	}
	set, idText := seg[:open], seg[open+1:len(seg)-1]
	t := d.tableBySet(set)
	if t == nil || t.name != target {
		return "", errBad(codeBadProperty, "The entity set '%s' in '%s' does not match the navigation property's target '%s'.", set, ref, target)
	}
	id, ok := normGUID(idText)
	if !ok {
		return "", errBad(codeBadProperty, "'%s' is not a valid record id in '%s'.", idText, ref)
	}
	if _, ok := t.rows[id]; !ok {
		return "", errNotFound(target, id)
	}
	return id, nil
}

func (d *Dataverse) parseParties(v any) ([]map[string]any, *Error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, errBad(codeBadProperty, "phonecall_activity_parties must be an array of activity parties.")
	}
	out := make([]map[string]any, 0, len(arr))
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, errBad(codeBadProperty, "An activity party must be an object.")
		}
		p := map[string]any{"activitypartyid": NewGUID()}
		for k, v := range m {
			switch {
			case k == "participationtypemask":
				n, ok := v.(json.Number)
				i, err := n.Int64()
				if !ok || err != nil || i < 1 || i > 11 {
					return nil, errBad(codeBadProperty, "participationtypemask %v is not valid (1 From, 2 To, … 11 Customer).", v)
				}
				p[k] = i
			case k == "addressused":
				s, _ := v.(string)
				p[k] = s
			case strings.HasPrefix(k, "partyid_") && strings.HasSuffix(k, "@odata.bind"):
				target := strings.TrimSuffix(strings.TrimPrefix(k, "partyid_"), "@odata.bind")
				switch target {
				case "systemuser", "contact", "account", "lead":
				default:
					return nil, errBad(codeBadProperty, "An undeclared property 'partyid_%s' which only has property annotations in the payload…", target)
				}
				ref, _ := v.(string)
				id, e := d.resolveBind(ref, target)
				if e != nil {
					return nil, e
				}
				p["_partyid_value"] = id
				p["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = target
			default:
				return nil, errBad(codeBadProperty, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.activityparty'.", k)
			}
		}
		if _, ok := p["participationtypemask"]; !ok {
			return nil, errBad(codeBadProperty, "An activity party needs a participationtypemask.")
		}
		if _, ok := p["_partyid_value"]; !ok && p["addressused"] == nil {
			return nil, errBad(codeBadProperty, "An activity party needs a partyid binding or an addressused.")
		}
		out = append(out, p)
	}
	return out, nil
}

// validStatus: the statuscode values each statecode allows.
func validStatus(entity string, state, status int64) bool {
	if entity == "phonecall" {
		switch state {
		case 0:
			return status == 1
		case 1:
			return status == 2 || status == 4
		case 2:
			return status == 3
		}
		return false
	}
	switch state {
	case 0:
		return status == 1 || status == 0
	case 1:
		return status == 2 || status == 0
	}
	return false
}

func defaultStatus(entity string, state int64) int64 {
	if entity == "phonecall" {
		return map[int64]int64{0: 1, 1: 2, 2: 3}[state]
	}
	return state + 1
}

// DecodeBody reads a JSON record body with numbers kept exact.
func DecodeBody(b []byte) (map[string]any, *Error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errBad(codeBadProperty, "The request body is not a JSON object.")
	}
	return m, nil
}

// Create inserts a record and returns its id. The body may carry the
// primary key; a second record with the same key is refused.
func (d *Dataverse) Create(entity string, body map[string]any) (string, *Error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, e := d.table(entity)
	if e != nil {
		return "", e
	}
	if t.readOnly {
		return "", &Error{Status: http.StatusForbidden, Code: "0x80040220", Message: fmt.Sprintf("The user does not hold the privilege to create %s records.", entity)}
	}
	id := NewGUID()
	if v, ok := body[t.id]; ok {
		s, _ := v.(string)
		g, ok := normGUID(s)
		if !ok {
			return "", errBad(codeBadProperty, "Cannot convert the literal '%v' to the expected type 'Edm.Guid' for property '%s'.", v, t.id)
		}
		id = g
	}
	if _, dup := t.rows[id]; dup {
		return "", &Error{Status: http.StatusPreconditionFailed, Code: codeDuplicate, Message: "A record with matching key values already exists."}
	}
	if _, ok := body["statecode"]; ok && t.name == "phonecall" {
		return "", errBad(codeBadState, "statecode is not valid on create for phonecall: create the record, then update statecode and statuscode.")
	}
	rec := map[string]any{}
	if e := d.applyBody(t, rec, body, true); e != nil {
		return "", e
	}
	if _, ok := t.attrs["statecode"]; ok {
		rec["statecode"] = int64(0)
		st, ok := rec["statuscode"].(int64)
		if !ok {
			st = defaultStatus(t.name, 0)
		}
		if !validStatus(t.name, 0, st) {
			return "", errBad(codeBadState, "statuscode %d is not valid for statecode 0 of %s.", st, t.name)
		}
		rec["statuscode"] = st
	}
	if t.name == "annotation" {
		if e := d.checkDocument(rec); e != nil {
			return "", e
		}
	}
	d.insert(t, id, rec)
	return id, nil
}

func (d *Dataverse) checkDocument(rec map[string]any) *Error {
	b, _ := rec["documentbody"].(string)
	if b == "" {
		return nil
	}
	if len(b) > d.maxAtt {
		return errBad(codeAttachment, "The attachment is either not a valid type or is too large. It cannot be uploaded or downloaded.")
	}
	if _, err := base64.StdEncoding.DecodeString(b); err != nil {
		return errBad(codeBadProperty, "documentbody is not valid Base64.")
	}
	return nil
}

// Update changes a record. A completed or canceled activity is
// read-only until it is reopened (statecode 0 in the same or an earlier
// update).
func (d *Dataverse) Update(entity, id string, body map[string]any) *Error {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, e := d.table(entity)
	if e != nil {
		return e
	}
	gid, ok := normGUID(id)
	if !ok {
		return errBad(codeBadProperty, "'%s' is not a valid record id.", id)
	}
	rec, ok := t.rows[gid]
	if !ok {
		return errNotFound(entity, gid)
	}
	next := maps.Clone(rec)
	curState, _ := rec["statecode"].(int64)
	newState := curState
	if v, ok := body["statecode"]; ok {
		n, ok := v.(json.Number)
		s, err := n.Int64()
		if !ok || err != nil {
			return errBad(codeBadProperty, "Cannot convert the literal '%v' to the expected type 'Edm.Int32' for property 'statecode'.", v)
		}
		newState = s
	}
	others := false
	for k := range body {
		if k != "statecode" && k != "statuscode" {
			others = true
		}
	}
	if t.name == "phonecall" && curState != 0 && newState != 0 && others {
		return errBad(codeBadState, "This phonecall is closed (statecode %d) and cannot be edited; set statecode 0 to reopen it first.", curState)
	}
	if e := d.applyBody(t, next, body, false); e != nil {
		return e
	}
	if _, ok := body["statecode"]; ok {
		next["statecode"] = newState
		st, ok := next["statuscode"].(int64)
		if _, given := body["statuscode"]; !given || !ok {
			st = defaultStatus(t.name, newState)
		}
		if !validStatus(t.name, newState, st) {
			return errBad(codeBadState, "statuscode %d is not valid for statecode %d of %s.", st, newState, t.name)
		}
		next["statuscode"] = st
	} else if st, ok := body["statuscode"]; ok {
		n, _ := next["statuscode"].(int64)
		if !validStatus(t.name, curState, n) {
			return errBad(codeBadState, "statuscode %v is not valid for statecode %d of %s.", st, curState, t.name)
		}
	}
	if t.name == "annotation" {
		if e := d.checkDocument(next); e != nil {
			return e
		}
	}
	d.version++
	next["modifiedon"] = d.now().UTC().Format(time.RFC3339)
	next["@odata.etag"] = `W/"` + strconv.FormatInt(d.version, 10) + `"`
	computeFields(t, next)
	t.rows[gid] = next
	return nil
}

// Delete removes a record.
func (d *Dataverse) Delete(entity, id string) *Error {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, e := d.table(entity)
	if e != nil {
		return e
	}
	gid, _ := normGUID(id)
	if _, ok := t.rows[gid]; !ok {
		return errNotFound(entity, gid)
	}
	delete(t.rows, gid)
	t.order = slices.DeleteFunc(t.order, func(s string) bool { return s == gid })
	return nil
}

func project(t *table, rec map[string]any, sel []string) map[string]any {
	out := map[string]any{"@odata.etag": rec["@odata.etag"], t.id: rec[t.id]}
	if len(sel) == 0 {
		for k, v := range rec {
			if k == t.parties || k == "documentbody" {
				continue // not returned unless selected, like a file column
			}
			out[k] = v
		}
		return out
	}
	for _, c := range sel {
		if v, ok := rec[c]; ok {
			out[c] = v
		} else {
			out[c] = nil
		}
		if strings.HasPrefix(c, "_") {
			if v, ok := rec[c+"@Microsoft.Dynamics.CRM.lookuplogicalname"]; ok {
				out[c+"@Microsoft.Dynamics.CRM.lookuplogicalname"] = v
			}
		}
	}
	return out
}

func checkColumns(t *table, cols []string) *Error {
	for _, c := range cols {
		if !t.hasColumn(c) {
			return errBad(codeBadProperty, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", c, t.name)
		}
	}
	return nil
}

// Retrieve reads one record; query may hold $select.
func (d *Dataverse) Retrieve(entity, id, query string) (map[string]any, *Error) {
	q, err := ParseQuery(query)
	if err != nil {
		return nil, errBad(codeBadProperty, "%s", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, e := d.table(entity)
	if e != nil {
		return nil, e
	}
	if e := checkColumns(t, q.Select); e != nil {
		return nil, e
	}
	gid, _ := normGUID(id)
	rec, ok := t.rows[gid]
	if !ok {
		return nil, errNotFound(entity, gid)
	}
	return project(t, rec, q.Select), nil
}

// Query runs retrieveMultiple with a raw query string as it arrives on
// the wire ("$select=…&$filter=…&$top=…", percent-encoded).
func (d *Dataverse) Query(entity, query string) ([]map[string]any, *Error) {
	q, err := ParseQuery(query)
	if err != nil {
		return nil, errBad(codeBadProperty, "%s", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, e := d.table(entity)
	if e != nil {
		return nil, e
	}
	if e := checkColumns(t, q.Select); e != nil {
		return nil, e
	}
	if e := checkColumns(t, Columns(q.Filter)); e != nil {
		return nil, e
	}
	if q.OrderBy != "" {
		if e := checkColumns(t, []string{q.OrderBy}); e != nil {
			return nil, e
		}
	}
	var rows []map[string]any
	for _, id := range t.order {
		rec := t.rows[id]
		if Match(q.Filter, rec) {
			rows = append(rows, rec)
		}
	}
	if q.OrderBy != "" {
		slices.SortStableFunc(rows, func(a, b map[string]any) int {
			c, _ := compare(a[q.OrderBy], Literal{Kind: "string", Value: fmt.Sprint(b[q.OrderBy])})
			if _, isStr := a[q.OrderBy].(string); !isStr {
				c = strings.Compare(fmt.Sprint(a[q.OrderBy]), fmt.Sprint(b[q.OrderBy]))
			}
			if q.Desc {
				return -c
			}
			return c
		})
	}
	top := q.Top
	if top == 0 || top > maxTop {
		top = maxTop
	}
	if len(rows) > top {
		rows = rows[:top]
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = project(t, r, q.Select)
	}
	return out, nil
}

// Records returns every record of a table in creation order, with all
// columns (activity parties and document bodies included), for tests and
// the inspection endpoint.
func (d *Dataverse) Records(entity string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[entity]
	if !ok {
		return nil
	}
	out := make([]map[string]any, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, cloneRec(t.rows[id]))
	}
	return out
}

// Record returns one record with all columns.
func (d *Dataverse) Record(entity, id string) (map[string]any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[entity]
	if !ok {
		return nil, false
	}
	gid, _ := normGUID(id)
	r, ok := t.rows[gid]
	if !ok {
		return nil, false
	}
	return cloneRec(r), true
}

func cloneRec(r map[string]any) map[string]any {
	c := maps.Clone(r)
	if ps, ok := c["phonecall_activity_parties"].([]map[string]any); ok {
		cp := make([]map[string]any, len(ps))
		for i, p := range ps {
			cp[i] = maps.Clone(p)
		}
		c["phonecall_activity_parties"] = cp
	}
	return c
}

// Entities lists the logical names of the tables.
func (d *Dataverse) Entities() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(maps.Keys(d.tables))
}

// SetName returns the entity set of a logical name.
func (d *Dataverse) SetName(entity string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[entity]
	if !ok {
		return "", false
	}
	return t.set, true
}

// PrimaryName returns the primary name column of a logical name.
func (d *Dataverse) PrimaryName(entity string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.tables[entity]; ok {
		return t.primary
	}
	return ""
}

func jsonNum(s string) json.Number { return json.Number(s) }
