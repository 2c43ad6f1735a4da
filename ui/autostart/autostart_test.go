package autostart

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestLaunchAgentPlist(t *testing.T) {
	p := LaunchAgentPlist("/Applications/Switchboard.app/Contents/MacOS/switchboard", []string{"--minimized", "a&b"})
	// Well-formed XML with the arguments escaped.
	d := xml.NewDecoder(strings.NewReader(p))
	d.Strict = true
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("plist is not XML: %v\n%s", err, p)
		}
	}
	for _, want := range []string{"<string>" + Label + "</string>", "<string>--minimized</string>", "<string>a&amp;b</string>", "<key>RunAtLoad</key>\n\t<true/>"} {
		if !strings.Contains(p, want) {
			t.Errorf("plist lacks %q:\n%s", want, p)
		}
	}
}

func TestRunValue(t *testing.T) {
	tests := []struct {
		exe  string
		args []string
		want string
	}{
		{`C:\Program Files\Switchboard\switchboard.exe`, []string{"--minimized"}, `"C:\Program Files\Switchboard\switchboard.exe" --minimized`},
		{`C:\s.exe`, []string{"a b", `x"y`}, `"C:\s.exe" "a b" "x\"y"`},
	}
	for _, tt := range tests {
		if got := RunValue(tt.exe, tt.args); got != tt.want {
			t.Errorf("RunValue = %s, want %s", got, tt.want)
		}
	}
}
