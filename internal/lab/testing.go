package lab

import (
	"context"
	"testing"
	"time"
)

// startTimeout bounds the start-up of one lab program in the T helpers.
const startTimeout = 30 * time.Second

// StartKamailioT starts Kamailio for a test and stops it (removing its
// files) when the test ends. On failure the tail of its log is printed.
func StartKamailioT(t testing.TB, opts KamailioOptions) *Kamailio {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	k, err := StartKamailio(ctx, opts)
	if err != nil {
		t.Fatalf("start Kamailio: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- kamailio.log (tail) ---\n%s", tailFile(k.Log(), 4000))
		}
		_ = k.Close()
	})
	return k
}

// StartBotT starts a baresip bot for a test and stops it when the test
// ends. On failure the tail of its log and its events are printed.
func StartBotT(t testing.TB, opts BotOptions) *Bot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	b, err := StartBot(ctx, opts)
	if err != nil {
		t.Fatalf("start bot %s: %v", opts.Extension, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- bot %s events: %s", b.Extension(), b.eventTypes())
			t.Logf("--- bot %s baresip log (tail) ---\n%s", b.Extension(), tailFile(b.Log(), 3000))
		}
		_ = b.Close()
	})
	return b
}

// NewCAT creates a CA in a test temporary directory.
func NewCAT(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA(t.TempDir())
	if err != nil {
		t.Fatalf("create test CA: %v", err)
	}
	return ca
}
