// Package bridge carries the widget side of crm.Bridge for tests and
// tools: cif-bridge.js, which runs the engine's requests with
// Microsoft.CIFramework inside the agent's Dynamics tab and reports its
// events (window.SwitchboardCIF = {start(baseUrl, send), handle(req)}).
//
// The script itself lives with the widget (assets/static/js/cif-bridge.js),
// which imports it; this package hands the same bytes to test widgets
// (crm/cifhost/cifbrowser), so there is one bridge, tested both ways.
package bridge

import "switchboard/assets"

// JS is cif-bridge.js, as the widget serves it.
var JS = assets.CIFBridgeJS()
