//go:build linux && !nogui

package desktop

import (
	"fmt"
	"image/color"
	"time"

	"github.com/godbus/dbus/v5"
)

// trayItem reads and clicks the app's tray over D-Bus exactly as a tray
// host does: StatusNotifierItem for the icon, com.canonical.dbusmenu for
// the menu.
type trayItem struct {
	d    *desk
	name string
}

func (d *desk) tray(pid int) *trayItem {
	d.t.Helper()
	ti := &trayItem{d: d, name: fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", pid)}
	d.eventually("the tray item on the bus", 15*time.Second, func() bool {
		var has bool
		err := d.bus.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, ti.name).Store(&has)
		return err == nil && has
	})
	return ti
}

// menuEntry is one item of the tray menu.
type menuEntry struct {
	ID       int32
	Label    string
	Enabled  bool
	Checked  bool
	Children []menuEntry
}

func (ti *trayItem) menu() []menuEntry {
	ti.d.t.Helper()
	_, m := ti.layout()
	return m
}

// layout reads the menu and its revision.
func (ti *trayItem) layout() (uint32, []menuEntry) {
	ti.d.t.Helper()
	obj := ti.d.bus.Object(ti.name, "/StatusNotifierMenu")
	call := obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		ti.d.t.Fatalf("GetLayout: %v", call.Err)
	}
	if len(call.Body) < 2 {
		ti.d.t.Fatalf("GetLayout returned %v", call.Body)
	}
	rev, _ := call.Body[0].(uint32)
	root := parseEntry(call.Body[1])
	return rev, root.Children
}

// settled returns the menu once it has stopped changing: the app
// rebuilds it item by item when its state changes, and a tray host
// shows it after the last LayoutUpdated, not in between.
func (ti *trayItem) settled() []menuEntry {
	ti.d.t.Helper()
	rev, m := ti.layout()
	for i := 0; i < 50; i++ {
		time.Sleep(150 * time.Millisecond)
		r2, m2 := ti.layout()
		if r2 == rev {
			return m2
		}
		rev, m = r2, m2
	}
	return m
}

func parseEntry(v any) menuEntry {
	if vv, ok := v.(dbus.Variant); ok {
		v = vv.Value()
	}
	parts, ok := v.([]any)
	if !ok || len(parts) < 3 {
		return menuEntry{}
	}
	e := menuEntry{Enabled: true}
	e.ID, _ = parts[0].(int32)
	if props, ok := parts[1].(map[string]dbus.Variant); ok {
		if l, ok := props["label"]; ok {
			e.Label, _ = l.Value().(string)
		}
		if en, ok := props["enabled"]; ok {
			e.Enabled, _ = en.Value().(bool)
		}
		if ts, ok := props["toggle-state"]; ok {
			n, _ := ts.Value().(int32)
			e.Checked = n == 1
		}
		if t, ok := props["type"]; ok && t.Value() == "separator" {
			e.Label = "---"
		}
	}
	if kids, ok := parts[2].([]dbus.Variant); ok {
		for _, k := range kids {
			e.Children = append(e.Children, parseEntry(k))
		}
	}
	return e
}

func labels(es []menuEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Label)
	}
	return out
}

// find returns the entry with a label, searching sub-menus too.
func find(es []menuEntry, label string) (menuEntry, bool) {
	for _, e := range es {
		if e.Label == label {
			return e, true
		}
		if c, ok := find(e.Children, label); ok {
			return c, true
		}
	}
	return menuEntry{}, false
}

// click sends the tray host's "clicked" event for a menu label.
func (ti *trayItem) click(label string) {
	ti.d.t.Helper()
	m := ti.settled()
	e, ok := find(m, label)
	if !ok {
		ti.d.t.Fatalf("no tray menu item %q in %q", label, labels(m))
	}
	obj := ti.d.bus.Object(ti.name, "/StatusNotifierMenu")
	if c := obj.Call("com.canonical.dbusmenu.Event", 0, e.ID, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())); c.Err != nil {
		ti.d.t.Fatalf("clicking %q: %v", label, c.Err)
	}
}

// status is the menu's first line.
func (ti *trayItem) status() string {
	m := ti.menu()
	if len(m) == 0 {
		return ""
	}
	return m[0].Label
}

// iconColour is the colour of the tray icon's disc (left of the glyph).
func (ti *trayItem) iconColour() color.NRGBA {
	ti.d.t.Helper()
	v, err := ti.d.bus.Object(ti.name, "/StatusNotifierItem").GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		ti.d.t.Fatalf("IconPixmap: %v", err)
	}
	px, ok := v.Value().([][]any)
	if !ok || len(px) == 0 {
		// godbus decodes a(iiay) into a slice of structs.
		return iconFromStructs(ti, v)
	}
	return pixel(px[0])
}

func iconFromStructs(ti *trayItem, v dbus.Variant) color.NRGBA {
	var px []struct {
		W, H int32
		Data []byte
	}
	if err := dbus.Store([]any{v.Value()}, &px); err != nil || len(px) == 0 {
		ti.d.t.Fatalf("IconPixmap %T: %v", v.Value(), err)
	}
	p := px[0]
	return argbAt(p.W, p.H, p.Data, 0.12, 0.5)
}

func pixel(p []any) color.NRGBA {
	w, _ := p[0].(int32)
	h, _ := p[1].(int32)
	data, _ := p[2].([]byte)
	return argbAt(w, h, data, 0.12, 0.5)
}

// argbAt reads an SNI pixmap (ARGB32, network byte order) at (u, v).
func argbAt(w, h int32, data []byte, u, v float64) color.NRGBA {
	x, y := int(float64(w)*u), int(float64(h)*v)
	i := (y*int(w) + x) * 4
	if i+3 >= len(data) {
		return color.NRGBA{}
	}
	return color.NRGBA{A: data[i], R: data[i+1], G: data[i+2], B: data[i+3]}
}
