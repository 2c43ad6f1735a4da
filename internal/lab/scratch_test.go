package lab

import (
	"os"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	k := StartKamailioT(t, KamailioOptions{Debug: 2})
	b := StartBotT(t, BotOptions{Kamailio: k, Extension: "1001", AccountParams: ";mwi=yes", ExtraConfig: "module_app mwi.so\n"})
	time.Sleep(1 * time.Second)
	ctx := testCtx(t, 10*time.Second)
	if err := k.SetMWI(ctx, "1001", 2, 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1 * time.Second)
	t.Log(b.eventTypes())
	bb, _ := os.ReadFile(k.Log())
	os.WriteFile("/tmp/kamdebug.log", bb, 0o644)
	t.Log(tailFile(b.Log(), 2000))
}
