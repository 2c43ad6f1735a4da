package sip

import (
	"errors"
	"strings"
	"testing"
)

const offerPCMU = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"

func TestCheckOffer(t *testing.T) {
	codecs, err := mediaCodecs([]string{"pcmu", "opus"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sdp string
		srtp      bool
		ok        bool
	}{
		{"pcmu", offerPCMU, false, true},
		{"opus dynamic", strings.Replace(offerPCMU, "RTP/AVP 0 101", "RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2", 1), false, true},
		{"only g729", strings.Replace(offerPCMU, "RTP/AVP 0 101", "RTP/AVP 18", 1), false, false},
		{"no codec", strings.Replace(offerPCMU, "RTP/AVP 0 101", "RTP/AVP", 1), false, false},
		{"empty", "", false, false},
		{"garbage", "this is not sdp", false, false},
		{"video only", strings.Replace(offerPCMU, "m=audio", "m=video", 1), false, false},
		{"srtp required, plain offer", offerPCMU, true, false},
		{"srtp required, SAVP", strings.Replace(offerPCMU, "RTP/AVP", "RTP/SAVP", 1), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOffer([]byte(tc.sdp), codecs, tc.srtp)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckOffer = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrBadOffer) {
				t.Fatalf("error %v does not wrap ErrBadOffer", err)
			}
		})
	}
}

func TestRemoteHold(t *testing.T) {
	for _, tc := range []struct {
		sdp  string
		want bool
	}{
		{offerPCMU, false},
		{offerPCMU + "a=sendonly\r\n", true},
		{offerPCMU + "a=inactive\r\n", true},
		{offerPCMU + "a=sendrecv\r\n", false},
		{strings.Replace(offerPCMU, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), true},
		{"junk", false},
	} {
		if got := remoteHoldFromSDP([]byte(tc.sdp)); got != tc.want {
			t.Errorf("remoteHoldFromSDP(%q) = %v, want %v", tc.sdp, got, tc.want)
		}
	}
}

func TestDialString(t *testing.T) {
	for in, want := range map[string]string{
		"1002":               "1002",
		" +86 138-1234-5678": "+8613812345678",
		"(138) 1234 5678":    "13812345678",
		"*01":                "*01",
		"1002#":              "1002#",
		"alice":              "alice",
		"a b c":              "",
		"<script>":           "",
		"1+2":                "1+2", // a legal SIP user name
		"":                   "",
	} {
		if got := DialString(in); got != want {
			t.Errorf("DialString(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCheckOffer(f *testing.F) {
	codecs, _ := mediaCodecs(nil)
	f.Add([]byte(offerPCMU))
	f.Add([]byte(offerPCMU + "a=sendonly\r\n"))
	f.Add([]byte("v=0\r\nm=audio 0 RTP/AVP\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CheckOffer(b, codecs, false)
		_ = CheckOffer(b, codecs, true)
		_ = remoteHoldFromSDP(b)
	})
}

func FuzzDialString(f *testing.F) {
	for _, s := range []string{"+86 138-1234-5678", "alice", "*01#", "sip:1002@pbx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := DialString(s)
		if d != DialString(d) {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, d, DialString(d))
		}
		if strings.ContainsAny(d, " <>\"\r\n@:") {
			t.Fatalf("%q kept a character no dial plan accepts: %q", s, d)
		}
	})
}

func TestRouteDestination(t *testing.T) {
	for in, want := range map[string]string{
		"<sip:127.0.0.1:5080;lr;ftag=x>":                 "127.0.0.1:5080",
		"<sip:pbx.example.com;lr>":                       "pbx.example.com:5060",
		"<sips:pbx.example.com;lr>":                      "pbx.example.com:5061",
		"<sip:10.0.0.1:5070;lr>, <sip:10.0.0.2:5060;lr>": "10.0.0.1:5070",
		"sip:10.0.0.9;lr":                                "10.0.0.9:5060",
		"<sip:;lr>":                                      "",
		"<broken":                                        "",
	} {
		got, ok := routeDestination(in)
		if got != want || ok != (want != "") {
			t.Errorf("routeDestination(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func FuzzRouteDestination(f *testing.F) {
	f.Add("<sip:127.0.0.1:5080;lr;ftag=x>")
	f.Add("<sips:[::1]:5061;lr>")
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := routeDestination(s); ok && d == "" {
			t.Fatal("ok with an empty destination")
		}
	})
}
