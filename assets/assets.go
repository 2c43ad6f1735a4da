package assets

import (
	"embed"
	"io/fs"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static
var static embed.FS

// Templates are the server-rendered pages (html/template syntax):
// index.html (the widget shell) and notice.html (errors, SSO).
func Templates() fs.FS {
	sub, err := fs.Sub(templates, "templates")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Static is the widget's CSS, JavaScript and images, served under a
// content-hashed prefix.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// CIFBridgeJS is js/cif-bridge.js, the widget side of the CRM bridge
// (window.SwitchboardCIF), for test widgets that frame it alone.
func CIFBridgeJS() []byte {
	b, err := fs.ReadFile(static, "static/js/cif-bridge.js")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}
