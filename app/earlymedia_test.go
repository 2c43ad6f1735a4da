//go:build !race

// diago v0.42.2 applies the final answer to an early-media session in
// place while its own RTCP monitor reads the remote address
// (DialogMedia.checkEarlyMedia vs RTPSession.MonitorBackground), which the
// race detector reports. make test runs this file in a second pass
// without -race until diago serialises the two.

package app_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/app"
	"switchboard/audio"
	"switchboard/audio/audiotest"
	"switchboard/internal/lab"
)

func TestEarlyMedia(t *testing.T) {
	r := newRig(t, rigOptions{codecs: []string{"pcmu"}, domain: "lab.switchboard.test"})
	ctx := ctxT(t, 30*time.Second)
	// A callee with early media (183 + SDP and RTP before the answer, as
	// PBX announcements do): we hear it instead of our ringback, and the
	// call goes on once it answers. sipp plays it (baresip's early answer
	// mode sends no audio).
	tone := filepath.Join(t.TempDir(), "early.ulaw")
	writeULaw(t, tone, 1200, 10*time.Second)
	s, err := lab.StartSipp(ctx, lab.SippOptions{Scenario: earlyMediaScenario(tone), Timeout: 25 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := r.phone.Dial(ctx, s.URI("early"))
	if err != nil {
		t.Fatal(err)
	}
	r.waitCall("early media", state(app.CallRinging))
	r.played(audiotest.SpeakerName, time.Second)
	assertWeHeard(t, r.heard(), 1200)
	r.waitCall("answered", state(app.CallActive))
	time.Sleep(500 * time.Millisecond)
	r.phone.Hangup(ctx, c.ID)
	if e := r.waitCall("end", state(app.CallEnded)); e.Disposition != app.DispAnswered {
		t.Fatalf("disposition %s", e.Disposition)
	}
	if res, err := s.Wait(ctx); err != nil || !res.Passed() {
		t.Fatalf("sipp: %v %v", err, res.Summary())
	}
}

// writeULaw writes d of a sine as raw G.711 µ-law at 8 kHz (sipp's
// rtp_stream format).
func writeULaw(t *testing.T, path string, hz float64, d time.Duration) {
	t.Helper()
	codec, _ := audio.LookupCodec("pcmu")
	enc, err := audio.NewEncoder(codec)
	if err != nil {
		t.Fatal(err)
	}
	pcm := audiotest.Sine(hz, 8000, d, 0.5)
	var out []byte
	buf := make([]byte, 1500)
	for i := 0; i+160 <= len(pcm); i += 160 {
		n, err := enc.Encode(pcm[i:i+160], buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// earlyMediaScenario answers an INVITE with 183 and early RTP from file,
// then 200 after 2.5 s, and waits for the caller's BYE.
func earlyMediaScenario(file string) string {
	sdp := `v=0
o=sipp 1 1 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
`
	resp := func(status string) string {
		return `
      SIP/2.0 ` + status + `
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

` + sdp
	}
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="early-media">
  <recv request="INVITE" crlf="true" rrs="true"/>
  <send><![CDATA[` + resp("183 Session Progress") + `]]></send>
  <nop><action><exec rtp_stream="` + file + `,-1,0"/></action></nop>
  <pause milliseconds="2500"/>
  <send retrans="500"><![CDATA[` + resp("200 OK") + `]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

]]></send>
</scenario>
`
}
