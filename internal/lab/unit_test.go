package lab

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestToneDetection(t *testing.T) {
	sine := func(rate int, freq float64, d time.Duration) []int16 {
		s := make([]int16, int(d.Seconds()*float64(rate)))
		for i := range s {
			s[i] = int16(12000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		}
		return s
	}
	noise := make([]int16, 8000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = int16(r.IntN(20000) - 10000)
	}
	silenceThenTone := append(make([]int16, 16000), sine(16000, 1200, time.Second)...)
	tests := []struct {
		name    string
		samples []int16
		rate    int
		freq    float64
		want    bool
	}{
		{"800 at 8k", sine(8000, 800, time.Second), 8000, 800, true},
		{"1200 at 48k", sine(48000, 1200, time.Second), 48000, 1200, true},
		{"800 is not 1200", sine(8000, 800, time.Second), 8000, 1200, false},
		{"800 is not 840", sine(8000, 800, time.Second), 8000, 840, false},
		{"silence", make([]int16, 8000), 8000, 800, false},
		{"noise", noise, 8000, 800, false},
		{"too short", sine(8000, 800, 200*time.Millisecond), 8000, 800, false},
		{"leading silence ignored", silenceThenTone, 16000, 1200, true},
		{"empty", nil, 8000, 800, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasTone(tt.samples, tt.rate, tt.freq); got != tt.want {
				t.Errorf("HasTone = %v, want %v", got, tt.want)
			}
		})
	}
	if f := DominantFrequency(sine(16000, 1230, time.Second), 16000); f != 1230 {
		t.Errorf("DominantFrequency = %v, want 1230", f)
	}
	if f := DominantFrequency(make([]int16, 800), 8000); f != 0 {
		t.Errorf("DominantFrequency(silence) = %v, want 0", f)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := WriteToneWAV(path, 1000, 16000, 500*time.Millisecond, 0.5); err != nil {
		t.Fatal(err)
	}
	s, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(s) != 8000 {
		t.Fatalf("got %d samples at %d Hz, want 8000 at 16000", len(s), rate)
	}
	if !HasTone(s, rate, 1000) {
		t.Error("tone lost in the round trip")
	}
	if err := WriteToneWAV(path, 5000, 8000, time.Second, 0.5); err == nil {
		t.Error("a tone above Nyquist was accepted")
	}
}

// wavImage builds a WAV header with the given data size field followed by
// n bytes of data.
func wavImage(channels, dataSize, n int) []byte {
	var b bytes.Buffer
	le := func(v any) {
		switch x := v.(type) {
		case uint16:
			b.Write([]byte{byte(x), byte(x >> 8)})
		case uint32:
			b.Write([]byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24)})
		}
	}
	b.WriteString("RIFF")
	le(uint32(36 + n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(channels))
	le(uint32(8000))
	le(uint32(8000 * 2 * channels))
	le(uint16(2 * channels))
	le(uint16(16))
	b.WriteString("LIST")
	le(uint32(4))
	b.WriteString("INFO")
	b.WriteString("data")
	le(uint32(dataSize))
	for i := 0; i < n; i++ {
		b.WriteByte(byte(i))
	}
	return b.Bytes()
}

func TestParseWAV(t *testing.T) {
	tests := []struct {
		name    string
		img     []byte
		samples int
		wantErr bool
	}{
		{"finalised", wavImage(1, 16, 16), 8, false},
		{"unfinalised size 0", wavImage(1, 0, 16), 8, false},
		{"size beyond file", wavImage(1, 1000, 16), 8, false},
		{"stereo takes first channel", wavImage(2, 16, 16), 4, false},
		{"not RIFF", []byte("hello world, this is not a wav"), 0, true},
		{"truncated", wavImage(1, 16, 16)[:20], 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := ParseWAV(tt.img)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(s) != tt.samples {
				t.Errorf("%d samples, want %d", len(s), tt.samples)
			}
		})
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavImage(1, 16, 16))
	f.Add(wavImage(2, 0, 7))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, rate, err := ParseWAV(b)
		if err == nil && (rate <= 0 || len(s) > len(b)/2) {
			t.Fatalf("rate %d, %d samples from %d bytes", rate, len(s), len(b))
		}
	})
}

func TestNetstring(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{`5:hello,`, []string{"hello"}, false},
		{`0:,3:abc,`, []string{"", "abc"}, false},
		{`5:hello;`, nil, true},
		{`x:abc,`, nil, true},
		{`:abc,`, nil, true},
		{`99999999999:a,`, nil, true},
		{`10:short,`, nil, true},
	}
	for _, tt := range tests {
		r := bufio.NewReader(strings.NewReader(tt.in))
		var got []string
		var err error
		for {
			var b []byte
			b, err = readNetstring(r)
			if err != nil {
				break
			}
			got = append(got, string(b))
		}
		if err == io.EOF {
			err = nil
		}
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, wantErr %v", tt.in, err, tt.wantErr)
		}
		if !tt.wantErr && strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	if err := writeNetstring(&buf, []byte(`{"command":"dial"}`)); err != nil || buf.String() != `18:{"command":"dial"},` {
		t.Errorf("writeNetstring = %q, %v", buf.String(), err)
	}
}

func FuzzReadNetstring(f *testing.F) {
	f.Add([]byte(`5:hello,`))
	f.Add([]byte(`50:{"response":true,"ok":true,"data":"","token":"1"},`))
	f.Add([]byte(`9999999:x`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for range 100 {
			b, err := readNetstring(r)
			if err != nil {
				return
			}
			if len(b) > len(in) {
				t.Fatalf("read %d bytes from %d", len(b), len(in))
			}
		}
	})
}

func TestReceivedStatuses(t *testing.T) {
	trace := `----------------------------------------------- 2026-12-04 20:13:41.252886
UDP message sent (492 bytes):

SIP/2.0 180 Ringing
----------------------------------------------- 2026-12-04 20:13:41.899781
UDP message received [332] bytes :

SIP/2.0 100 Trying
Via: x
----------------------------------------------- 2026-12-04 20:13:41.899781
TCP message received [332] bytes :

SIP/2.0 488 Not Acceptable Here
----------------------------------------------- 2026-12-04 20:13:41.899781
UDP message received [332] bytes :

NOTIFY sip:a@b SIP/2.0
`
	got := receivedStatuses(trace)
	if len(got) != 2 || got[0] != 100 || got[1] != 488 {
		t.Errorf("receivedStatuses = %v, want [100 488]", got)
	}
	res := &SippResult{Responses: got}
	if res.FinalResponse() != 488 {
		t.Errorf("FinalResponse = %d", res.FinalResponse())
	}
}

func TestCodecList(t *testing.T) {
	got := codecList([]string{"PCMU", "g722", "opus", "PCMA/8000/1", "GSM"})
	want := "PCMU/8000/1,G722/16000/1,opus/48000/2,PCMA/8000/1,GSM"
	if got != want {
		t.Errorf("codecList = %q, want %q", got, want)
	}
}

func TestCAServesTLS(t *testing.T) {
	ca := NewCAT(t)
	cert, err := ca.IssueServerCert("127.0.0.1", "localhost", "lab.switchboard.test")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := cert.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	for _, name := range []string{"127.0.0.1", "localhost", "lab.switchboard.test"} {
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: name})
		if err != nil {
			t.Errorf("verify as %s: %v", name, err)
			continue
		}
		c.Close()
	}
	_, err = tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "example.com"})
	var hv x509.HostnameError
	if !errors.As(err, &hv) {
		t.Errorf("dial with a wrong name: got %v, want a hostname error", err)
	}
	if _, err := ca.IssueServerCert(); err == nil {
		t.Error("a certificate without hosts was issued")
	}
}

func TestFreePort(t *testing.T) {
	for _, n := range []string{"udp", "tcp", "both"} {
		p, err := FreePort(n)
		if err != nil || p <= 0 {
			t.Fatalf("FreePort(%s) = %d, %v", n, p, err)
		}
		if n != "udp" {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				t.Errorf("FreePort(%s) = %d is not free for TCP: %v", n, p, err)
			} else {
				l.Close()
			}
		}
	}
	if _, err := FreePort("sctp"); err == nil {
		t.Error("unknown network accepted")
	}
}

func BenchmarkHasTone(b *testing.B) {
	s := make([]int16, 8000) // one second at 8 kHz
	for i := range s {
		s[i] = int16(12000 * math.Sin(2*math.Pi*800*float64(i)/8000))
	}
	b.SetBytes(int64(2 * len(s)))
	for b.Loop() {
		HasTone(s, 8000, 800)
	}
}

func BenchmarkDominantFrequency(b *testing.B) {
	s := make([]int16, 8000)
	for i := range s {
		s[i] = int16(12000 * math.Sin(2*math.Pi*800*float64(i)/8000))
	}
	for b.Loop() {
		DominantFrequency(s, 8000)
	}
}
