package sip_test

import (
	"context"
	"testing"
	"time"

	"switchboard/sip"
)

// The first REGISTER goes out right after Start. It must leave from the
// listening socket, not fail to bind the same port a second time (which
// happened when it raced sipgo adding the listener to its pool: 7 in 30
// runs of this test on a machine kept busy by other processes, as CI is).
func TestFirstRegisterLeavesFromListener(t *testing.T) {
	k := startKamailio(t)
	for i := 0; i < 40; i++ {
		w := newRegWatch()
		ua, err := sip.New(sip.Options{
			Server:         k.Addr("udp"),
			Transport:      "udp",
			Domain:         k.Domain(),
			Extension:      "1001",
			Password:       k.Password("1001"),
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
		if s := w.settle(t, 5*time.Second); s.State != sip.RegRegistered {
			t.Fatalf("start %d: first REGISTER failed: %v (%s)", i, s.Err, s.Reason)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ua.Close(ctx)
		cancel()
	}
}
