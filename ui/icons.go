package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"

	"fyne.io/fyne/v2"
)

// Icons draws the tray and window icons in code (no image files to keep
// in step with the states) and caches them.
type Icons struct {
	mu    sync.Mutex
	cache map[string]fyne.Resource
}

// iconSize is the rendered size in pixels; trays scale it down.
const iconSize = 64

// Tray returns the tray icon for a state.
func (ic *Icons) Tray(i Icon, badge bool) fyne.Resource {
	name := fmt.Sprintf("switchboard-%s", i)
	if badge {
		name += "-missed"
	}
	return ic.get(name+".png", func() []byte { return RenderIcon(i, badge, iconSize) })
}

// App is the application and window icon.
func (ic *Icons) App() fyne.Resource {
	return ic.get("switchboard.png", func() []byte { return RenderIcon(IconInCall, false, 256) })
}

func (ic *Icons) get(name string, render func() []byte) fyne.Resource {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if r, ok := ic.cache[name]; ok {
		return r
	}
	if ic.cache == nil {
		ic.cache = map[string]fyne.Resource{}
	}
	r := fyne.NewStaticResource(name, render())
	ic.cache[name] = r
	return r
}

// Colours of the states: green is ready, amber away, red refuses, blue is
// a call, grey is nothing yet.
var iconColours = [...]color.NRGBA{
	IconSignedOut:  {0x8a, 0x93, 0x9b, 0xff},
	IconConnecting: {0x5b, 0x7c, 0x99, 0xff},
	IconAvailable:  {0x2e, 0x9d, 0x5b, 0xff},
	IconAway:       {0xe8, 0xa3, 0x17, 0xff},
	IconDND:        {0xd6, 0x45, 0x41, 0xff},
	IconError:      {0xb0, 0x3a, 0x2e, 0xff},
	IconRinging:    {0x1e, 0x88, 0xe5, 0xff},
	IconInCall:     {0x15, 0x65, 0xc0, 0xff},
}

// RenderIcon draws a state's icon as a PNG: a coloured disc with a white
// glyph (a handset; a bar for do not disturb; "!" for an error) and, for
// missed calls, a red dot ringed in white at the top right.
func RenderIcon(i Icon, badge bool, size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	bg := iconColours[i]
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	red := color.NRGBA{0xe5, 0x1c, 0x23, 0xff}
	const ss = 4 // supersampling per axis
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var acc [4]float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					u := (float64(x) + (float64(sx)+0.5)/ss) / float64(size)
					v := (float64(y) + (float64(sy)+0.5)/ss) / float64(size)
					c, a := shade(i, badge, u, v, bg, white, red)
					acc[0] += float64(c.R) * a
					acc[1] += float64(c.G) * a
					acc[2] += float64(c.B) * a
					acc[3] += a
				}
			}
			if acc[3] == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{
				R: uint8(acc[0] / acc[3]), G: uint8(acc[1] / acc[3]), B: uint8(acc[2] / acc[3]),
				A: uint8(math.Round(255 * acc[3] / ss / ss)),
			})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// shade is the colour and coverage at (u, v) in the unit square.
func shade(i Icon, badge bool, u, v float64, bg, white, red color.NRGBA) (color.NRGBA, float64) {
	if badge {
		d := math.Hypot(u-0.8, v-0.2)
		if d <= 0.15 {
			return red, 1
		}
		if d <= 0.2 {
			return white, 1
		}
	}
	if math.Hypot(u-0.5, v-0.5) > 0.47 {
		return color.NRGBA{}, 0
	}
	if glyph(i, u, v) {
		return white, 1
	}
	return bg, 1
}

// glyph reports whether (u, v) is inside the icon's white mark.
func glyph(i Icon, u, v float64) bool {
	switch i {
	case IconDND:
		return math.Abs(v-0.5) <= 0.075 && math.Abs(u-0.5) <= 0.26
	case IconError:
		return capsule(u, v, 0.5, 0.25, 0.5, 0.56, 0.065) || math.Hypot(u-0.5, v-0.74) <= 0.07
	}
	return handset(u, v)
}

// handset is a telephone handset: a curved handle whose ends widen into
// the ear and mouth pieces on the inner side, turned the way phone icons
// are (earpiece top left, mouthpiece bottom right).
func handset(u, v float64) bool {
	const (
		cx, cy = 0.70, 0.30 // centre of the handle's curve
		r      = 0.36       // radius of the handle's centre line
		hw     = 0.055      // half the handle's width
		lo, hi = math.Pi * 0.50, math.Pi * 1.00
		padArc = 0.27 // angular length of a piece, radians
		padIn  = 0.19 // how far a piece reaches inward
	)
	d := math.Hypot(u-cx, v-cy)
	a := math.Atan2(v-cy, u-cx) // screen coordinates: +y is down
	if a < -math.Pi/2 {
		a += 2 * math.Pi
	}
	if a >= lo+padArc/2 && a <= hi-padArc/2 && math.Abs(d-r) <= hw {
		return true
	}
	for _, mid := range []float64{lo + padArc/2, hi - padArc/2} {
		// A rounded box in (radial, along-the-arc) coordinates.
		p := d - (r + hw - padIn/2 - hw/2)
		q := (a - mid) * r
		if roundedBox(p, q, (padIn+hw)/2, padArc*r/2+0.02, 0.045) {
			return true
		}
	}
	return false
}

// roundedBox reports whether (p, q) is inside a box of half extents hp, hq
// centred on the origin, with corners rounded to radius cr.
func roundedBox(p, q, hp, hq, cr float64) bool {
	dp := math.Abs(p) - (hp - cr)
	dq := math.Abs(q) - (hq - cr)
	return math.Hypot(math.Max(dp, 0), math.Max(dq, 0))+math.Min(math.Max(dp, dq), 0) <= cr
}

// capsule reports whether (u, v) lies within rad of the segment a–b.
func capsule(u, v, ax, ay, bx, by, rad float64) bool {
	dx, dy := bx-ax, by-ay
	t := ((u-ax)*dx + (v-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(u-(ax+t*dx), v-(ay+t*dy)) <= rad
}
