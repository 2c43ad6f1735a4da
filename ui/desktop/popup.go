//go:build !nogui

package desktop

import (
	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.3/glfw"
)

// showFloating shows the incoming-call popup above other windows without
// taking the keyboard from what the agent is typing in. fyne has no API
// for either, but it creates a window's native handle on its first Show
// with GLFW's current window hints, so the hints are set around that
// Show: GLFW_FLOATING (X11 _NET_WM_STATE_ABOVE, Win32 HWND_TOPMOST, Cocoa
// NSFloatingWindowLevel) and GLFW_FOCUS_ON_SHOW off (GLFW does not
// focus it; a window manager may still apply its own focus policy).
func showFloating(w fyne.Window) {
	fyne.Do(func() {
		glfw.WindowHint(glfw.Floating, glfw.True)
		glfw.WindowHint(glfw.FocusOnShow, glfw.False)
		defer func() {
			glfw.WindowHint(glfw.Floating, glfw.False)
			glfw.WindowHint(glfw.FocusOnShow, glfw.True)
		}()
		w.Show()
	})
}
