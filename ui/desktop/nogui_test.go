package desktop

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoGUIBuild: a server build (-tags nogui) links no fyne, GLFW or
// OpenGL at all, and still compiles the whole command.
func TestNoGUIBuild(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "nogui", "-deps", "switchboard/cmd/switchboard").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "fyne.io/") || strings.HasPrefix(pkg, "github.com/go-gl/") {
			t.Errorf("the nogui build depends on %s", pkg)
		}
	}
	if !strings.Contains(string(out), "switchboard/ui/backend") {
		t.Error("the nogui build lost the ui backend")
	}
}
