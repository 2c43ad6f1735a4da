package calllink

import (
	"errors"
	"fmt"
	"strings"

	"switchboard/ui/internal/selfexe"
)

// Options say what to register and, for tests and installers, where.
type Options struct {
	// Exec is the absolute path of the switchboard executable; empty
	// means the running one.
	Exec string
	// DataHome and ConfigHome replace $XDG_DATA_HOME and $XDG_CONFIG_HOME
	// on Linux (tests point them into a temporary home). Empty means the
	// environment's, then ~/.local/share and ~/.config.
	DataHome, ConfigHome string
}

// DesktopFileName is the Linux desktop entry that names Switchboard as
// the handler of its schemes (and launches it from the menu).
const DesktopFileName = "switchboard.desktop"

// ErrInstallerOwned means the platform takes the handler from the
// application bundle, so the installer declares it (macOS).
var ErrInstallerOwned = errors.New("on this system the installer declares the link handler")

func (o Options) exec() (string, error) { return selfexe.Path(o.Exec) }

// DesktopEntry is the content of the Linux .desktop file for exe.
func DesktopEntry(exe string) string {
	var mimes []string
	for _, s := range Schemes() {
		mimes = append(mimes, "x-scheme-handler/"+s)
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Version=1.0\n" +
		"Name=Switchboard\n" +
		"GenericName=Softphone\n" +
		"Comment=Softphone for Dynamics 365\n" +
		"Exec=" + DesktopExec(exe, "%u") + "\n" +
		"Icon=switchboard\n" +
		"Terminal=false\n" +
		"Categories=Network;Telephony;\n" +
		"MimeType=" + strings.Join(mimes, ";") + ";\n" +
		"StartupNotify=false\n"
}

// DesktopExec quotes a command line for a desktop entry's Exec key (Desktop
// Entry Specification, "The Exec key"): arguments with reserved characters
// are double-quoted with ", `, $ and \ escaped, and a literal % is doubled.
// Field codes (%u, %f...) passed as whole arguments are kept as they are.
func DesktopExec(exe string, args ...string) string {
	parts := []string{quoteExecArg(exe)}
	for _, a := range args {
		if len(a) == 2 && a[0] == '%' {
			parts = append(parts, a)
			continue
		}
		parts = append(parts, quoteExecArg(a))
	}
	return strings.Join(parts, " ")
}

func quoteExecArg(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`=") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '`' || r == '$' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	// The key's value is itself a string that unescapes backslashes once
	// more, so every backslash is written twice.
	return strings.ReplaceAll(b.String(), `\`, `\\`)
}

// InfoPlistURLTypes is the CFBundleURLTypes fragment the macOS installer
// puts in Switchboard.app/Contents/Info.plist: Launch Services reads the
// handler from there when the bundle is installed.
func InfoPlistURLTypes() string {
	var b strings.Builder
	b.WriteString("<key>CFBundleURLTypes</key>\n<array>\n")
	for _, s := range Schemes() {
		fmt.Fprintf(&b, "\t<dict>\n\t\t<key>CFBundleURLName</key>\n\t\t<string>Switchboard %s link</string>\n"+
			"\t\t<key>CFBundleURLSchemes</key>\n\t\t<array><string>%s</string></array>\n"+
			"\t\t<key>LSHandlerRank</key>\n\t\t<string>Owner</string>\n\t</dict>\n", s, s)
	}
	b.WriteString("</array>\n")
	return b.String()
}
