package autostart

import (
	"html"
	"strings"

	"switchboard/ui/calllink"
	"switchboard/ui/internal/selfexe"
)

// Options say what starts at login and, for tests, where the entry goes.
type Options struct {
	// Exec is the absolute path of the executable; empty means the
	// running one.
	Exec string
	// Args follow the executable (e.g. "--minimized").
	Args []string
	// ConfigHome replaces $XDG_CONFIG_HOME on Linux; Home replaces the
	// home directory on macOS (~/Library/LaunchAgents).
	ConfigHome, Home string
}

// Label names the entry in every OS's list of login items.
const Label = "com.switchboard.softphone"

// fileName of the Linux autostart entry.
const fileName = "switchboard.desktop"

func (o Options) exec() (string, error) { return selfexe.Path(o.Exec) }

// DesktopEntry is the XDG autostart entry (Desktop Application Autostart
// Specification) that runs exe with args at login.
func DesktopEntry(exe string, args []string) string {
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Version=1.0\n" +
		"Name=Switchboard\n" +
		"Comment=Softphone for Dynamics 365\n" +
		"Exec=" + calllink.DesktopExec(exe, args...) + "\n" +
		"Icon=switchboard\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n" +
		"X-GNOME-Autostart-Delay=2\n"
}

// LaunchAgentPlist is the macOS LaunchAgent that runs exe with args at
// login. KeepAlive is off: quitting from the tray must stay quit.
func LaunchAgentPlist(exe string, args []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + Label + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{exe}, args...) {
		b.WriteString("\t\t<string>" + html.EscapeString(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<false/>
	<key>ProcessType</key>
	<string>Interactive</string>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
</dict>
</plist>
`)
	return b.String()
}

// RunValue is the Windows Run key's command line: the executable quoted,
// arguments quoted when they need it (CommandLineToArgvW rules).
func RunValue(exe string, args []string) string {
	parts := []string{`"` + exe + `"`}
	for _, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\"") {
			parts = append(parts, a)
			continue
		}
		parts = append(parts, `"`+strings.ReplaceAll(a, `"`, `\"`)+`"`)
	}
	return strings.Join(parts, " ")
}
