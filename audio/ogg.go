package audio

import (
	"encoding/binary"
	"io"
)

// oggWriter writes one logical Ogg bitstream (RFC 3533): packets are laced
// into pages, each page carries the granule position of its last complete
// packet and a CRC-32 (polynomial 0x04c11db7, as Ogg specifies).
type oggWriter struct {
	w       io.Writer
	serial  uint32
	seq     uint32
	started bool

	segs    []byte // lacing values of the pending page
	body    []byte
	granule int64
	packets int
}

// oggMaxPacketsPerPage keeps pages near one second of 20 ms packets, so a
// crash loses at most about a second of recording.
const oggMaxPacketsPerPage = 50

func newOggWriter(w io.Writer, serial uint32) *oggWriter {
	return &oggWriter{w: w, serial: serial}
}

// writePacket adds a packet ending at granule; flush forces a page
// boundary after it (used for the header packets).
func (o *oggWriter) writePacket(p []byte, granule int64, flush bool) error {
	need := len(p)/255 + 1
	if len(o.segs)+need > 255 {
		if err := o.flushPage(false); err != nil {
			return err
		}
	}
	for n := len(p); ; n -= 255 {
		if n < 255 {
			o.segs = append(o.segs, byte(n))
			break
		}
		o.segs = append(o.segs, 255)
	}
	o.body = append(o.body, p...)
	o.granule = granule
	o.packets++
	if flush || o.packets >= oggMaxPacketsPerPage {
		return o.flushPage(false)
	}
	return nil
}

func (o *oggWriter) flushPage(eos bool) error {
	if len(o.segs) == 0 && !eos {
		return nil
	}
	var flags byte
	if !o.started {
		flags |= 0x02 // beginning of stream
	}
	if eos {
		flags |= 0x04
	}
	h := make([]byte, 27, 27+len(o.segs)+len(o.body))
	copy(h, "OggS")
	h[4] = 0
	h[5] = flags
	binary.LittleEndian.PutUint64(h[6:], uint64(o.granule))
	binary.LittleEndian.PutUint32(h[14:], o.serial)
	binary.LittleEndian.PutUint32(h[18:], o.seq)
	h[26] = byte(len(o.segs))
	h = append(h, o.segs...)
	h = append(h, o.body...)
	binary.LittleEndian.PutUint32(h[22:], oggCRC(h))
	o.seq++
	o.started = true
	o.segs, o.body, o.packets = o.segs[:0], o.body[:0], 0
	_, err := o.w.Write(h)
	return err
}

// close writes the pending packets on a final page marked end-of-stream.
func (o *oggWriter) close() error { return o.flushPage(true) }

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return
}()

func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, v := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^v]
	}
	return crc
}
