package sip_test

import (
	"context"
	"net"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/sip"
)

// udpRegistrar answers every REGISTER on a loopback UDP socket with 200 OK
// granting 300 s, and counts them. It is just enough of a PBX for tests
// that only need the first REGISTER to land.
func udpRegistrar(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg, err := sipmsg.ParseMessage(buf[:n])
			if err != nil {
				continue
			}
			req, ok := msg.(*sipmsg.Request)
			if !ok {
				continue
			}
			res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
			if req.Method == sipmsg.REGISTER {
				if c := req.Contact(); c != nil {
					cc := c.Clone()
					cc.Params = sipmsg.NewParams()
					cc.Params.Add("expires", "300")
					res.AppendHeader(cc)
				}
			}
			pc.WriteTo([]byte(res.String()), from)
		}
	}()
	return pc.LocalAddr().String()
}

// The first REGISTER goes out right after Start. It must leave from the
// listening socket, not fail to bind the same port a second time (which
// happened when it raced sipgo adding the listener to its pool: 2 in 30
// runs of this test on a machine kept busy by other processes, as CI is).
func TestFirstRegisterLeavesFromListener(t *testing.T) {
	addr := udpRegistrar(t)
	for i := 0; i < 40; i++ {
		w := newRegWatch()
		ua, err := sip.New(sip.Options{
			Server:         addr,
			Transport:      "udp",
			Domain:         "127.0.0.1",
			Extension:      "1001",
			Password:       "secret",
			Codecs:         []string{"pcmu"},
			Logger:         testLogger(),
			OnRegistration: w.on,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ua.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case s := <-w.ch:
				if s.State == sip.RegRegistered {
					break wait
				}
				if s.State == sip.RegFailed {
					t.Fatalf("start %d: first REGISTER failed: %v (%s)", i, s.Err, s.Reason)
				}
			case <-deadline:
				t.Fatalf("start %d: not registered in 5 s", i)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ua.Close(ctx)
		cancel()
	}
}
