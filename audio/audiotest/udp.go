package audiotest

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// UDPPort is an RTP transport over a real UDP socket on 127.0.0.1. It
// satisfies the audio room's RTPPort, so two calls can talk to each other
// in a test without any SIP.
type UDPPort struct {
	conn   *net.UDPConn
	remote *net.UDPAddr

	mu   sync.Mutex
	ssrc uint32
	seq  uint16
	rnd  *rand.Rand
	loss float64

	sent, received atomic.Int64
}

// NewUDPPortPair returns two ports connected to each other over loopback
// UDP on free ports. Close both when done.
func NewUDPPortPair() (*UDPPort, *UDPPort, error) {
	a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	pa := &UDPPort{conn: a, remote: b.LocalAddr().(*net.UDPAddr), ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), rnd: rand.New(rand.NewPCG(1, 2))}
	pb := &UDPPort{conn: b, remote: a.LocalAddr().(*net.UDPAddr), ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), rnd: rand.New(rand.NewPCG(3, 4))}
	return pa, pb, nil
}

// SetLoss makes the port drop a fraction (0..1) of the packets it would
// send, at random with a fixed seed, to exercise loss concealment.
func (p *UDPPort) SetLoss(fraction float64) {
	p.mu.Lock()
	p.loss = fraction
	p.mu.Unlock()
}

// ReadRTP blocks for the next packet; it fails once the port is closed.
func (p *UDPPort) ReadRTP(buf []byte, pkt *rtp.Packet) (int, error) {
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return 0, err
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue // not RTP: ignore, as a media socket would
		}
		p.received.Add(1)
		return n, nil
	}
}

// WriteRTP fills version, SSRC and sequence number and sends the packet.
func (p *UDPPort) WriteRTP(pkt *rtp.Packet) error {
	p.mu.Lock()
	pkt.Version = 2
	pkt.SSRC = p.ssrc
	pkt.SequenceNumber = p.seq
	p.seq++
	drop := p.loss > 0 && p.rnd.Float64() < p.loss
	p.mu.Unlock()
	b, err := pkt.Marshal()
	if err != nil {
		return err
	}
	p.sent.Add(1)
	if drop {
		return nil
	}
	_, err = p.conn.WriteToUDP(b, p.remote)
	return err
}

// Sent and Received count packets written and read.
func (p *UDPPort) Sent() int64     { return p.sent.Load() }
func (p *UDPPort) Received() int64 { return p.received.Load() }

// Close closes the socket; a blocked ReadRTP returns an error.
func (p *UDPPort) Close() error { return p.conn.Close() }
