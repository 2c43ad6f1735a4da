package calllink

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "tel:1002", want: "1002"},
		{in: "TEL:+1-555-0100", want: "+1-555-0100"},
		{in: "tel:%2B49%2030%20901820", want: "+49 30 901820"},
		{in: "tel:+1-201-555-0123;ext=42", want: "+1-201-555-0123,42"}, // the extension follows the answer
		{in: "tel:+1-201-555-0123;EXT=42?x=1", want: "+1-201-555-0123,42"},
		{in: "tel:+1-201-555-0123;ext=4x", bad: true},
		{in: "tel:863-1234;phone-context=+1-914-555", want: "863-1234"},
		{in: "tel://1002", want: "1002"},
		{in: "callto:1002", want: "1002"},
		{in: "callto://+4930901820/", want: "+4930901820"},
		{in: "tel:*97", want: "*97"},
		{in: "sip:1002", want: "1002"},
		{in: "sip:1002@127.0.0.1", want: "sip:1002@127.0.0.1"},
		{in: "sip:alice@pbx.example.com:5061;transport=tls", want: "sip:alice@pbx.example.com:5061"},
		{in: "sips:bob@[2001:db8::1]:5061", want: "sips:bob@[2001:db8::1]:5061"},
		{in: "sip:1002@pbx?Subject=x", want: "sip:1002@pbx"},
		{in: "  tel:1002  ", want: "1002"},
		{in: "http://example.com", bad: true},
		{in: "tel:", bad: true},
		{in: "tel:abc", bad: true},
		{in: "tel:--", bad: true},
		{in: "tel:1002%0d%0aVia:x", bad: true},
		{in: "tel:%zz", bad: true},
		{in: "sip:@host", bad: true},
		{in: "sip:a b@host", bad: true},
		{in: "sip:1002@ho st", bad: true},
		{in: "sip:1002@host:99999", bad: true},
		{in: "sip:1002@[zz::1]", bad: true},
		{in: "tel:" + strings.Repeat("1", 600), bad: true},
		{in: "1002", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestIsLink(t *testing.T) {
	for in, want := range map[string]bool{
		"tel:1": true, "CALLTO:1": true, "sip:a@b": true, "sips:a@b": true,
		"run": false, "call": false, ":x": false, "https://x": false, "C:\\x": false,
	} {
		if got := IsLink(in); got != want {
			t.Errorf("IsLink(%q) = %v", in, got)
		}
	}
}

// FuzzParse feeds links from web pages: whatever comes out must be safe to
// hand to the dialler (no control characters, no header smuggling).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"tel:1002", "callto://1002", "sip:a@b:5060;x=y?h=v", "tel:%2B1", "sips:[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		if got == "" || len(got) > maxLinkLen {
			t.Fatalf("Parse(%q) = %q", s, got)
		}
		if strings.ContainsAny(got, "\r\n\t;?<>\"\x00") {
			t.Fatalf("Parse(%q) = %q carries unsafe characters", s, got)
		}
	})
}
