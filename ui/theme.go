package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// brandTheme is fyne's theme with Switchboard's colours, the same as the
// tray icons': blue for calls and primary actions, green to answer, red
// to decline or warn.
type brandTheme struct{ fyne.Theme }

// BrandTheme returns the app's theme (light or dark as the system says).
func BrandTheme() fyne.Theme { return brandTheme{theme.DefaultTheme()} }

var (
	brandBlue      = color.NRGBA{0x1e, 0x6f, 0xd9, 0xff}
	brandBlueLight = color.NRGBA{0x4a, 0x9a, 0xf5, 0xff}
	brandGreen     = color.NRGBA{0x2e, 0x9d, 0x5b, 0xff}
	brandRed       = color.NRGBA{0xd6, 0x45, 0x41, 0xff}
	brandAmber     = color.NRGBA{0xe8, 0xa3, 0x17, 0xff}
	white          = color.NRGBA{0xff, 0xff, 0xff, 0xff}
)

func (b brandTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNamePrimary, theme.ColorNameFocus:
		if v == theme.VariantDark {
			return brandBlueLight
		}
		return brandBlue
	case theme.ColorNameSuccess:
		return brandGreen
	case theme.ColorNameError:
		return brandRed
	case theme.ColorNameWarning:
		return brandAmber
	case theme.ColorNameForegroundOnPrimary, theme.ColorNameForegroundOnSuccess, theme.ColorNameForegroundOnError:
		return white
	}
	return b.Theme.Color(n, v)
}
