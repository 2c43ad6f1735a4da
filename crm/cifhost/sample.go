package cifhost

import (
	"crypto/sha1"
	"fmt"
)

// SampleID is the id LoadSample gives the record it names key, e.g.
// SampleID("contact", "zhang").
func SampleID(entity, key string) string {
	s := sha1.Sum([]byte("cifhost-sample\x00" + entity + "\x00" + key))
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

type sampleRec struct {
	entity, key string
	fields      map[string]any
}

// sampleData are records with phone numbers stored the ways people type
// them, so matching has to normalise: one contact reachable in three
// formats, three records sharing a number (a picker), numbers of other
// countries, and opportunities to be "regarding".
func sampleData() []sampleRec {
	acme := "/accounts(" + SampleID("account", "acme") + ")"
	return []sampleRec{
		{"account", "acme", map[string]any{"name": "Acme China", "telephone1": "010-6552 9988", "websiteurl": "https://acme.example.cn"}},
		{"account", "acmeny", map[string]any{"name": "Acme New York", "telephone1": "+1 (646) 212-3456"}},
		{"account", "globex", map[string]any{"name": "Globex UK", "telephone1": "+44 20 7946 0958", "telephone2": "020 7946 0959"}},
		{"contact", "zhang", map[string]any{"firstname": "Zhang", "lastname": "San", "telephone1": "+86 138-1234-5678", "mobilephone": "13812345678",
			"jobtitle": "IT Manager", "emailaddress1": "zhang.san@acme.example.cn", "parentcustomerid_account@odata.bind": acme}},
		{"contact", "li", map[string]any{"firstname": "Li", "lastname": "Lei", "mobilephone": "(186) 0000 3333", "telephone1": "010 6552 9900"}},
		{"contact", "wang", map[string]any{"firstname": "Wang", "lastname": "Fang", "mobilephone": "139-0000-1111"}},
		{"contact", "chen", map[string]any{"firstname": "Chen", "lastname": "Jie", "telephone2": "+86 13900001111"}},
		{"contact", "dupont", map[string]any{"firstname": "Marie", "lastname": "Dupont", "mobilephone": "06 12 34 56 78"}},
		{"lead", "zhao", map[string]any{"firstname": "Zhao", "lastname": "Min", "telephone1": "139 0000 1111", "subject": "Headsets for 40 agents", "companyname": "Zhao Trading"}},
		{"lead", "sun", map[string]any{"firstname": "Sun", "lastname": "Li", "mobilephone": "+86 186 0000 2222", "subject": "Call center upgrade", "companyname": "Sun Logistics"}},
		{"opportunity", "infra", map[string]any{"name": "IT infrastructure review", "customerid_account@odata.bind": acme, "estimatedvalue": jsonNum("120000")}},
		{"opportunity", "pbx", map[string]any{"name": "PBX upgrade 2025", "customerid_account@odata.bind": acme}},
		{"opportunity", "headsets", map[string]any{"name": "Remote work headsets", "customerid_account@odata.bind": "/accounts(" + SampleID("account", "globex") + ")"}},
	}
}

// LoadSample fills d with the sample records (ids from SampleID). It is
// idempotent: records already there are left alone.
func LoadSample(d *Dataverse) {
	for _, r := range sampleData() {
		id := SampleID(r.entity, r.key)
		if _, ok := d.Record(r.entity, id); ok {
			continue
		}
		body := map[string]any{}
		for k, v := range r.fields {
			body[k] = v
		}
		t, _ := d.table(r.entity)
		body[t.id] = id
		if _, e := d.Create(r.entity, body); e != nil {
			panic(fmt.Sprintf("sample %s %s: %v", r.entity, r.key, e))
		}
	}
}
