// Package crm holds every Dynamics 365 rule of Switchboard as plain Go:
// phone number normalisation and matching (C1), the screen pop (C3),
// creating records for unknown numbers (C2), the call's phonecall
// activity from answer to completion (C4), the recording note (C5), and
// the durable, idempotent delivery of every CRM write (G2).
//
// It talks to Dynamics only through Bridge, a narrow interface whose
// requests (search, create, update, retrieve, open form, render search
// page, set mode) the widget runs with Microsoft.CIFramework inside the
// agent's own Dynamics tab; no Dataverse credentials live on the desktop.
// The widget side of that bridge is assets/static/js/cif-bridge.js (also
// served to test widgets by crm/bridge).
//
// # Wiring
//
//	eng, err := crm.New(crm.Options{
//		Settings: func() crm.Settings { … },      // read at every decision
//		Bridge:   widgetBridge,                    // over the widget WebSocket
//		Outbox:   st,                              // *store.Store
//		AgentID:  func() string { … },             // getEnvironment's userId
//		OnUpdate: func(ci crm.CallInfo) { … },     // to the call card
//		OnPending: func(n int) { … },              // "n writes waiting"
//	})
//	go eng.Run(ctx)        // sends the outbox
//	eng.OnCall(call)       // for every app.Call snapshot
//	eng.Kick()             // when a Dynamics tab connects
//
// The agent's actions map to OpenRecord, Choose, AddRecord, SaveActivity,
// ActivityPage, AttachRecording and SearchOpportunities. A call first
// seen already ended (from history) is registered without any automatic
// action, so the call log's actions (E1) work on it.
//
// # Writes
//
// Every write is stored in the outbox before it is sent, keyed per call
// and action ("phonecall:create:<call>", "record:create:<call>:…"), and
// carries the whole state it sets. Records get ids derived from the call
// (StableID), so a create whose answer was lost is found by id before it
// is sent again, and Dataverse would refuse a duplicate key anyway. See
// sync.go for the ordering rules.
//
// # Settings
//
// Settings (package crmconf, re-exported here) are every C1–C5 and B4
// option with JSON names for the widget and TOML names for the [crm]
// section of the config file; crmconf's package documentation lists the
// keys and their defaults. DefaultSettings returns a fresh install's.
//
// # What this package must not do
//
// It does not import localhost, sip, audio or ui, and it never talks to
// Dataverse except through Bridge. It imports app for the call snapshot
// type and app/store for the outbox item type only.
package crm
