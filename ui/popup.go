package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"switchboard/app"
)

// popupSize is fixed, so the buttons are where a hand (or a test) expects
// them: Decline on the left half, Answer on the right, along the bottom.
var popupSize = fyne.NewSize(360, 170)

// popupWindow is the small incoming-call window with Answer and Decline.
type popupWindow struct {
	c    *Controller
	w    fyne.Window
	call app.Call

	name, number *widget.Label
	answer       *widget.Button
	decline      *widget.Button
}

func newPopupWindow(c *Controller, call app.Call) *popupWindow {
	p := &popupWindow{c: c, w: c.app.NewWindow(""), call: call}
	p.w.SetIcon(c.icons.App())
	p.build()
	p.w.SetFixedSize(true)
	p.w.Resize(popupSize)
	p.w.CenterOnScreen()
	// Closing the popup leaves the call ringing (the widget and the tray
	// still offer it); it does not decline.
	return p
}

func (p *popupWindow) build() {
	t := p.c.text
	title := t.T("call.incoming")
	if p.call.Waiting {
		title = t.T("call.waiting")
	}
	p.w.SetTitle(title + " — " + CallerLabel(p.call, t))
	icon := canvas.NewImageFromResource(p.c.icons.Tray(IconRinging, false))
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSize(48, 48))
	caption := widget.NewLabel(title)
	caption.Importance = widget.HighImportance
	caption.TextStyle = fyne.TextStyle{Bold: true}
	caption.SizeName = theme.SizeNameCaptionText
	p.name = widget.NewLabel("")
	p.name.TextStyle = fyne.TextStyle{Bold: true}
	p.name.SizeName = theme.SizeNameSubHeadingText
	p.name.Truncation = fyne.TextTruncateEllipsis
	p.number = widget.NewLabel("")
	p.number.Truncation = fyne.TextTruncateEllipsis
	id := p.call.ID
	p.answer = widget.NewButtonWithIcon(t.T("call.answer"), theme.ConfirmIcon(), func() {
		p.answer.Disable()
		p.decline.Disable()
		p.c.Answer(id)
	})
	p.answer.Importance = widget.SuccessImportance
	p.decline = widget.NewButtonWithIcon(t.T("call.decline"), theme.CancelIcon(), func() {
		p.answer.Disable()
		p.decline.Disable()
		p.c.Decline(id)
	})
	p.decline.Importance = widget.DangerImportance
	p.fill()
	// The labels' own padding spaces the lines; tighten it so caller
	// and number read as one block beside the icon.
	lines := container.New(layout.NewCustomPaddedVBoxLayout(-theme.Padding()*2), caption, p.name, p.number)
	p.w.SetContent(container.NewPadded(container.NewBorder(
		nil,
		container.NewGridWithColumns(2, p.decline, p.answer),
		container.NewCenter(icon), nil,
		container.NewVBox(layout.NewSpacer(), lines, layout.NewSpacer()),
	)))
}

// fill shows the caller: the CRM name large once known, the number below.
func (p *popupWindow) fill() {
	t := p.c.text
	c := p.call
	switch {
	case c.Name != "":
		p.name.SetText(c.Name)
		p.number.SetText(c.Number)
	case c.Number != "":
		p.name.SetText(c.Number)
		p.number.SetText("")
	default:
		p.name.SetText(t.T("call.unknown"))
		p.number.SetText("")
	}
	if p.number.Text == "" {
		p.number.Hide()
	} else {
		p.number.Show()
	}
}

// update follows the call (the CRM name arriving).
func (p *popupWindow) update(c app.Call) {
	p.call = c
	p.fill()
	p.w.SetTitle(p.c.text.T("call.incoming") + " — " + CallerLabel(c, p.c.text))
}
