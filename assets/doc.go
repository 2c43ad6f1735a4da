// Package assets holds the agent's widget (HTML templates, CSS, JavaScript
// modules, icons), embedded into the binary with go:embed.
//
// The widget is plain HTML, CSS and vanilla JavaScript modules with no
// build step: what is in static/ is exactly what the browser gets. It owns
// the look and behaviour of the panel; it must not hold secrets, and it
// talks to the phone only through the local API and event WebSocket served
// by package localhost.
package assets
