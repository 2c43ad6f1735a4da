// Package audio is the media room of Switchboard. It moves PCM: sound
// devices (PortAudio), resampling, codecs (PCMU, PCMA, G.722, Opus and
// RFC 4733 telephone-events), the drift-compensating rings between the
// sound card clock and the RTP clock, the adaptive jitter buffer with loss
// concealment, tones and the ringer, call recording and level meters.
//
// It knows nothing of SIP, HTTP or the CRM. The SIP room hands a call's
// media transport in as an RTPPort; the app room chooses devices by name
// and listens to DeviceEvents. Nothing here imports another room.
package audio
