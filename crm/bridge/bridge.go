// Package bridge carries the widget side of crm.Bridge: cif-bridge.js,
// which runs the engine's requests with Microsoft.CIFramework inside the
// agent's Dynamics tab and reports its events. The widget includes it
// (window.SwitchboardCIF = {start(baseUrl, send), handle(req)}); the app
// relays requests and results over the widget's WebSocket. The script
// depends on nothing else in the widget, and this package on nothing.
package bridge

import _ "embed"

// JS is cif-bridge.js.
//
//go:embed cif-bridge.js
var JS []byte
