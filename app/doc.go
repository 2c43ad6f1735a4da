// Package app is the heart of Switchboard: the phone model (lines, calls
// and their states), the in-process event bus the other rooms observe,
// settings, and the wiring between sip, audio and the store.
//
// The other rooms (sip, audio, crm, localhost, ui) do not import each
// other sideways; when two of them need the same fact it lives here.
package app
