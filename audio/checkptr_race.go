//go:build race

package audio

import "github.com/gordonklaus/portaudio"

// skipLowStreamIDs works around a clash between the portaudio binding and
// the race detector's pointer checks: the binding hands each stream's
// small integer id to C as a pointer, and checkptr rejects pointer values
// below 4096. Opening (and at once failing) enough streams moves the ids
// past that range. Only race-enabled builds need it. PortAudio must be
// initialised.
func skipLowStreamIDs() {
	for range 4096 {
		// No buffers or callback: the binding rejects the call before it
		// reaches PortAudio, after using up an id.
		portaudio.OpenStream(portaudio.StreamParameters{})
	}
}
