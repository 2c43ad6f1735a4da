// Package localhost serves the agent's widget and the local API over HTTPS
// on 127.0.0.1, and guards them.
//
// It owns: the local certificate authority and the localhost certificate
// (created in the data directory, trusted in the OS stores on request),
// the routes (/dyncrm, /, /dyncrm/login, /api/v1/..., the event
// WebSocket, /healthz), the per-session API token and its 0600 token file,
// every check that keeps other web pages and other machines out (Host,
// Origin, token, CSP frame-ancestors, the base parameter, strict JSON), and
// a small Client for the command line.
//
// It must not hold phone logic: it talks to the phone through the small
// Phone interface defined here and forwards the app's bus events to every
// connected widget. Likewise it holds no Dynamics rule: the CRM interface
// (the /api/v1/crm endpoints) is served by the app over package crm, the
// app pushes each call's CRM state with PublishCRMCall, and Request runs
// the CRM bridge's CIF calls in the most recently active Dynamics panel.
// It must not import sip, audio, crm or ui (only the leaf crm/crmconf, for
// the settings type). The widget itself (HTML, CSS, JavaScript, including
// the CIF bridge cif-bridge.js) lives in package assets.
package localhost
