package crm

import (
	"strings"
	"testing"

	"switchboard/crm/cifhost"
)

// checkPhoneQuery parses q the way Dataverse does and checks that its
// filter is only contains() calls on phone columns whose literals are the
// number's trailing digits, punctuated.
func checkPhoneQuery(t *testing.T, q string, n Number) {
	t.Helper()
	if !strings.HasPrefix(q, "?$select=") {
		t.Fatalf("query %q does not start with $select", q)
	}
	if strings.ContainsAny(q, " +#\"") {
		t.Fatalf("query %q has an unencoded character", q)
	}
	opts, err := cifhost.ParseQuery(q)
	if err != nil {
		t.Fatalf("query %q does not parse: %v", q, err)
	}
	if opts.Top != SearchTop {
		t.Fatalf("query %q: $top = %d", q, opts.Top)
	}
	fs := cifhost.Funcs(opts.Filter)
	if len(fs) == 0 {
		t.Fatalf("query %q: no contains()", q)
	}
	tail := n.Digits[len(n.Digits)-4:]
	for _, f := range fs {
		if f.Name != "contains" {
			t.Fatalf("query %q uses %s", q, f.Name)
		}
		if got := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			if r == ' ' || r == '-' || r == '.' {
				return -1
			}
			t.Fatalf("filter literal %q has %q", f.Arg, r)
			return r
		}, f.Arg); got != tail {
			t.Fatalf("filter literal %q is not the trailing digits %q", f.Arg, tail)
		}
	}
}

func TestPhoneQuery(t *testing.T) {
	n, _ := Normalize("+86 138-1234-5678", cn)
	q, err := PhoneQuery("contact", n)
	if err != nil {
		t.Fatal(err)
	}
	checkPhoneQuery(t, q, n)
	want := "?$select=contactid,fullname,telephone1,telephone2,telephone3,mobilephone&$filter=contains(telephone1,'5678')%20or%20contains(telephone1,'56%2078')"
	if !strings.HasPrefix(q, want) {
		t.Errorf("query = %s\nwant prefix %s", q, want)
	}
	for _, ent := range []string{"account", "lead"} {
		q, err := PhoneQuery(ent, n)
		if err != nil {
			t.Fatal(err)
		}
		checkPhoneQuery(t, q, n)
	}
	if _, err := PhoneQuery("opportunity", n); err == nil {
		t.Error("opportunities have no phone columns")
	}
	short := Number{Raw: "12", Digits: "12"}
	if _, err := PhoneQuery("contact", short); err == nil {
		t.Error("a two-digit number must not be searched")
	}

	// Every way people store the number is found by the filter.
	dv := cifhost.NewDataverse(cifhost.DataverseOptions{})
	stored := []string{"+86 138-1234-5678", "13812345678", "(138) 1234 5678", "138.1234.56.78", "138 1234 5 678", "+86 138 1234 56-78"}
	for _, s := range stored {
		if _, e := dv.Create("contact", map[string]any{"lastname": s, "telephone2": s}); e != nil {
			t.Fatal(e)
		}
	}
	if _, e := dv.Create("contact", map[string]any{"lastname": "other", "mobilephone": "13812345679"}); e != nil {
		t.Fatal(e)
	}
	rows, e := dv.Query("contact", strings.TrimPrefix(q, "?"))
	if e != nil {
		t.Fatal(e)
	}
	if len(rows) != len(stored) {
		t.Errorf("filter found %d records, want %d: %v", len(rows), len(stored), rows)
	}
}

func TestPlusMustBeEncoded(t *testing.T) {
	// Dataverse reads a bare + as a space: contains(x,'+86') finds
	// nothing. The double does the same, and the encoder avoids it.
	dv := cifhost.NewDataverse(cifhost.DataverseOptions{})
	if _, e := dv.Create("contact", map[string]any{"lastname": "a", "telephone1": "+8613812345678"}); e != nil {
		t.Fatal(e)
	}
	raw := "$filter=contains(telephone1,'+86')"
	if rows, _ := dv.Query("contact", raw); len(rows) != 0 {
		t.Error("a bare + matched; the double should read it as a space")
	}
	enc := "$filter=" + EncodeQueryValue("contains(telephone1,'+86')")
	if rows, e := dv.Query("contact", enc); e != nil || len(rows) != 1 {
		t.Errorf("encoded + found %d rows, %v", len(rows), e)
	}
}

func TestTopicQuery(t *testing.T) {
	dv := cifhost.NewDataverse(cifhost.DataverseOptions{})
	for _, name := range []string{"PBX upgrade", "100% uptime deal", "IT_infra review", "O'Brien [phase 2]", "IT infra review"} {
		if _, e := dv.Create("opportunity", map[string]any{"name": name}); e != nil {
			t.Fatal(e)
		}
	}
	for _, tc := range []struct {
		topic string
		want  []string
	}{
		{"pbx", []string{"PBX upgrade"}},
		{"100%", []string{"100% uptime deal"}},
		{"IT_", []string{"IT_infra review"}},
		{"O'Brien [", []string{"O'Brien [phase 2]"}},
		{"a&b #c +d", nil},
	} {
		q, err := TopicQuery(tc.topic)
		if err != nil {
			t.Fatalf("TopicQuery(%q): %v", tc.topic, err)
		}
		rows, e := dv.Query("opportunity", strings.TrimPrefix(q, "?"))
		if e != nil {
			t.Fatalf("TopicQuery(%q) = %s: %v", tc.topic, q, e)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r["name"].(string))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("TopicQuery(%q) found %q, want %q", tc.topic, got, tc.want)
		}
	}
	for _, bad := range []string{"", "  ", strings.Repeat("x", 101), "a\x00b"} {
		if _, err := TopicQuery(bad); err == nil {
			t.Errorf("TopicQuery(%q) accepted", bad)
		}
	}
}

func FuzzTopicQuery(f *testing.F) {
	for _, s := range []string{"pbx", "O'Brien", "100%_[x]", "a') or (name ne '", "&$top=5000", "+86", "#", "中文主题"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := TopicQuery(s)
		if err != nil {
			return
		}
		opts, err := cifhost.ParseQuery(q)
		if err != nil {
			t.Fatalf("TopicQuery(%q) = %q does not parse: %v", s, q, err)
		}
		fs := cifhost.Funcs(opts.Filter)
		if len(fs) != 1 || fs[0].Column != "name" || opts.Filter.String() != fs[0].String() {
			t.Fatalf("TopicQuery(%q): the filter is not one contains(name,…): %s", s, opts.Filter)
		}
		if opts.Top != TopicTop || len(opts.Select) != 2 {
			t.Fatalf("TopicQuery(%q): options changed: %+v", s, opts)
		}
		// The literal, wildcards unescaped, is exactly the topic.
		lit := strings.NewReplacer("[%]", "%", "[_]", "_", "[[]", "[").Replace(fs[0].Arg)
		if lit != strings.TrimSpace(s) {
			t.Fatalf("TopicQuery(%q): literal %q", s, fs[0].Arg)
		}
	})
}

func TestIDQuery(t *testing.T) {
	id := StableID("phonecall", "c1")
	q, err := IDQuery("phonecall", "{"+strings.ToUpper(id)+"}", "statecode")
	if err != nil {
		t.Fatal(err)
	}
	if want := "?$select=activityid,statecode&$filter=activityid%20eq%20" + id + "&$top=1"; q != want {
		t.Errorf("IDQuery = %s, want %s", q, want)
	}
	if _, err := IDQuery("phonecall", "x' or 1 eq 1"); err == nil {
		t.Error("IDQuery accepted a non-id")
	}
}
