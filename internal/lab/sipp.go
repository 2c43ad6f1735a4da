package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// SippOptions configures RunSipp and StartSipp.
type SippOptions struct {
	// Scenario is the XML scenario text (see the Scenario* functions).
	Scenario string
	// Target is the "127.0.0.1:port" of the UA under test when sipp is the
	// client (UAC scenarios). Leave it empty for server scenarios: sipp
	// then waits for the UA to call Sipp.Addr().
	Target string
	// Transport is "udp" (default) or "tcp". The Debian sipp build has no TLS.
	Transport string
	// Service is the user part of the request URI ([service]); default "test".
	Service string
	// Calls is how many calls to run (-m); default 1.
	Calls int
	// Timeout ends sipp with a failure; default 30 s. ctx can end it earlier.
	Timeout time.Duration
	// Username and Password answer digest challenges ([authentication]).
	Username, Password string
	// Keys sets scenario keywords ([name] in the XML, sipp -key).
	Keys map[string]string
	// ExtraArgs are appended to the sipp command line.
	ExtraArgs []string
	// Dir holds the scenario and logs; empty means a temporary directory
	// removed when sipp ends (the logs are copied into the result).
	Dir string
	// Binary is the sipp executable; empty means "sipp" on PATH.
	Binary string
}

// SippResult is the outcome of a sipp run.
type SippResult struct {
	// ExitCode is sipp's: 0 all calls passed, 1 some failed, 97 internal
	// error, 99 normal exit without calls processed, 255 fatal error; -1
	// when sipp was killed.
	ExitCode int
	// Messages is the trace of every SIP message sent and received.
	Messages string
	// Errors holds unexpected messages and sipp's error log.
	Errors string
	// Output is sipp's stdout and stderr (statistics screens).
	Output string
	// Responses lists the status codes of responses sipp received, in
	// order (retransmissions included).
	Responses []int
}

// Passed reports whether every call followed the scenario.
func (r *SippResult) Passed() bool { return r.ExitCode == 0 }

// FinalResponse returns the last final (>= 200) status received, 0 if none.
func (r *SippResult) FinalResponse() int {
	for i := len(r.Responses) - 1; i >= 0; i-- {
		if r.Responses[i] >= 200 {
			return r.Responses[i]
		}
	}
	return 0
}

// Summary is a short description for test failures.
func (r *SippResult) Summary() string {
	return fmt.Sprintf("sipp exit %d, responses %v\n--- errors ---\n%s\n--- messages ---\n%s", r.ExitCode, r.Responses, r.Errors, r.Messages)
}

// RunSipp runs one sipp client scenario against opts.Target to completion.
// The error is for failures to run sipp at all; a scenario that did not
// pass is reported by SippResult.Passed with the traces to explain why.
func RunSipp(ctx context.Context, opts SippOptions) (*SippResult, error) {
	if opts.Target == "" {
		return nil, errors.New("lab: RunSipp needs a Target; use StartSipp for server scenarios")
	}
	s, err := StartSipp(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s.Wait(ctx)
}

// Sipp is a running sipp process.
type Sipp struct {
	addr    string
	dir     string
	ownDir  bool
	msgFile string
	errFile string
	cmd     *exec.Cmd
	out     bytes.Buffer
	done    chan struct{}
	res     *SippResult
	runErr  error
}

// StartSipp starts sipp in the background. With a Target it is a client;
// without one it is a server listening on Addr() (for scenarios such as
// ScenarioAnswer), and StartSipp returns once it listens.
func StartSipp(ctx context.Context, opts SippOptions) (*Sipp, error) {
	if opts.Scenario == "" {
		return nil, errors.New("lab: SippOptions needs a Scenario")
	}
	binary := opts.Binary
	if binary == "" {
		binary = "sipp"
	}
	if _, err := exec.LookPath(binary); err != nil {
		return nil, fmt.Errorf("lab: %s not found (%w); install Debian package sip-tester", binary, err)
	}
	s := &Sipp{dir: opts.Dir, done: make(chan struct{})}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "labsipp-")
		if err != nil {
			return nil, fmt.Errorf("lab: sipp directory: %w", err)
		}
		s.dir, s.ownDir = d, true
	}
	fail := func(err error) (*Sipp, error) {
		if s.ownDir {
			os.RemoveAll(s.dir)
		}
		return nil, err
	}
	scen := filepath.Join(s.dir, "scenario.xml")
	if err := os.WriteFile(scen, []byte(opts.Scenario), 0o644); err != nil {
		return fail(fmt.Errorf("lab: write sipp scenario: %w", err))
	}
	transport := "u1"
	switch strings.ToLower(opts.Transport) {
	case "", "udp":
	case "tcp":
		transport = "t1"
	default:
		return fail(fmt.Errorf("lab: sipp transport %q: want udp or tcp", opts.Transport))
	}
	port, err := FreePort("both")
	if err != nil {
		return fail(err)
	}
	mport, err := FreePort("udp")
	if err != nil {
		return fail(err)
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	service := opts.Service
	if service == "" {
		service = "test"
	}
	calls := opts.Calls
	if calls <= 0 {
		calls = 1
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	s.msgFile = filepath.Join(s.dir, "messages.log")
	s.errFile = filepath.Join(s.dir, "errors.log")
	args := []string{
		"-sf", scen, "-m", strconv.Itoa(calls), "-l", strconv.Itoa(calls),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mport),
		"-t", transport, "-s", service, "-nostdin",
		"-timeout", fmt.Sprintf("%ds", int(timeout.Seconds()+0.5)), "-timeout_error",
		"-trace_msg", "-message_file", s.msgFile, "-trace_err", "-error_file", s.errFile,
	}
	if opts.Username != "" {
		args = append(args, "-au", opts.Username, "-ap", opts.Password)
	}
	for k, v := range opts.Keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, opts.ExtraArgs...)
	if opts.Target != "" {
		args = append(args, opts.Target)
	}

	s.cmd = exec.Command(binary, args...)
	s.cmd.Dir = s.dir
	s.cmd.Env = append(os.Environ(), "TERM=dumb")
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fail(fmt.Errorf("lab: start sipp: %w", err))
	}
	go s.wait()
	if opts.Target == "" {
		if err := s.waitListening(ctx, port, transport == "t1"); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Sipp) wait() {
	s.runErr = s.cmd.Wait()
	res := &SippResult{Output: s.out.String()}
	if b, err := os.ReadFile(s.msgFile); err == nil {
		res.Messages = string(b)
	}
	if b, err := os.ReadFile(s.errFile); err == nil {
		res.Errors = string(b)
	}
	res.Responses = receivedStatuses(res.Messages)
	var ee *exec.ExitError
	if errors.As(s.runErr, &ee) {
		res.ExitCode = ee.ExitCode()
		s.runErr = nil
	}
	s.res = res
	if s.ownDir {
		os.RemoveAll(s.dir)
	}
	close(s.done)
}

func (s *Sipp) waitListening(ctx context.Context, port int, tcp bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		listening := !udpFree(port)
		if tcp {
			c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
			listening = err == nil
			if c != nil {
				c.Close()
			}
		}
		if listening {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("lab: sipp exited before listening: %s", s.res.Output)
		case <-ctx.Done():
			return fmt.Errorf("lab: sipp not listening on %s: %w", s.addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr is the "127.0.0.1:port" sipp sends from and listens on.
func (s *Sipp) Addr() string { return s.addr }

// URI is a request URI that reaches a server scenario: sip:user@Addr().
func (s *Sipp) URI(user string) string { return "sip:" + user + "@" + s.addr }

// Wait waits for sipp to finish its calls (or its Timeout) and returns the
// result. If ctx ends first, sipp is killed.
func (s *Sipp) Wait(ctx context.Context) (*SippResult, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		s.Close()
		return s.res, fmt.Errorf("lab: sipp stopped: %w", ctx.Err())
	}
	if s.runErr != nil {
		return s.res, fmt.Errorf("lab: run sipp: %w", s.runErr)
	}
	return s.res, nil
}

// Close kills sipp if it still runs and removes its files.
func (s *Sipp) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	return nil
}

var sippStatusRE = regexp.MustCompile(`(?m)^SIP/2\.0 (\d{3}) `)

// receivedStatuses extracts the status lines of received messages from a
// sipp message trace, whose blocks start with a dashed line followed by
// "UDP message received [n] bytes :" or "... sent ...".
func receivedStatuses(trace string) []int {
	var out []int
	for _, blk := range strings.Split(trace, "----------------------------------------------- ") {
		head, body, ok := strings.Cut(blk, "\n")
		if !ok {
			continue
		}
		nl := strings.Index(body, "\n")
		if nl < 0 {
			continue
		}
		if !strings.Contains(body[:nl], "received") {
			_ = head
			continue
		}
		if m := sippStatusRE.FindStringSubmatch(body[nl:]); m != nil {
			code, _ := strconv.Atoi(m[1])
			out = append(out, code)
		}
	}
	return out
}

// sippInvite is the scenario family: one INVITE with a chosen body, the
// expected final status, then ACK (and for 2xx, a BYE after HoldMS).
var sippInvite = template.Must(template.New("invite").Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{{.Name}}">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      User-Agent: sipp
      Subject: {{.Name}}
      Content-Type: application/sdp
      Content-Length: [len]

{{.SDP}}
    ]]>
  </send>

  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="{{.Code}}" rrs="true" timeout="{{.TimeoutMS}}"/>
{{if .Answered}}
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      [routes]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <pause milliseconds="{{.HoldMS}}"/>

  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      [routes]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <recv response="200" crlf="true"/>
{{else}}
  <!-- ACK for a non-2xx final response belongs to the INVITE transaction:
       same branch as the INVITE, five scenario elements earlier. -->
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-5];rport
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{end}}
  <ResponseTimeRepartition value="10, 20, 30, 40, 50, 100, 150, 200"/>
  <CallLengthRepartition value="10, 50, 100, 500, 1000, 5000, 10000"/>
</scenario>
`))

type sippInviteData struct {
	Name, SDP         string
	Code              int
	Answered          bool
	HoldMS, TimeoutMS int
}

func renderSippInvite(d sippInviteData) string {
	if d.TimeoutMS == 0 {
		d.TimeoutMS = 20000
	}
	var b strings.Builder
	if err := sippInvite.Execute(&b, d); err != nil {
		panic(err) // the template and its data are fixed in this file
	}
	return b.String()
}

// Session descriptions of the ready-made scenarios. sipp fills [media_ip]
// and [media_port] (its RTP echo port).
const (
	// SDPGarbage is not SDP at all, though labelled application/sdp.
	SDPGarbage = "this is not an SDP body\nv=banana\nm=audio notaport RTP/AVP x y z\nc=IN IP9 ???\n"
	// SDPOnlyG729 offers only G.729 (payload type 18).
	SDPOnlyG729 = "v=0\no=sipp 1 1 IN IP4 [media_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 18\na=rtpmap:18 G729/8000\na=sendrecv\n"
	// SDPNoCodecs has an audio line with no payload types.
	SDPNoCodecs = "v=0\no=sipp 1 1 IN IP4 [media_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP\na=sendrecv\n"
	// SDPPCMU offers PCMU and telephone-event.
	SDPPCMU = "v=0\no=sipp 1 1 IN IP4 [media_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=ptime:20\na=sendrecv\n"
)

// ScenarioInviteBadSDP sends an INVITE whose body is garbage and expects
// final status code (488 or 400 are the usual answers), then ACKs it.
func ScenarioInviteBadSDP(code int) string {
	return ScenarioInvite("invite-bad-sdp", SDPGarbage, code, 0)
}

// ScenarioInviteOnlyG729 sends an INVITE offering only G.729 and expects
// final status code (488 Not Acceptable Here from a UA without G.729).
func ScenarioInviteOnlyG729(code int) string {
	return ScenarioInvite("invite-only-g729", SDPOnlyG729, code, 0)
}

// ScenarioInviteAnswered sends a PCMU INVITE, expects 200, ACKs, keeps
// the call up for hold, then sends BYE and expects 200.
func ScenarioInviteAnswered(hold time.Duration) string {
	return ScenarioInvite("invite-answered", SDPPCMU, 200, hold)
}

// ScenarioInvite builds an INVITE scenario with any SDP body (sipp
// keywords allowed) and expected final status code. A 2xx code makes a
// full call (ACK, hold, BYE); other codes get the transaction's ACK.
func ScenarioInvite(name, sdp string, code int, hold time.Duration) string {
	return renderSippInvite(sippInviteData{
		Name: name, SDP: sdp, Code: code,
		Answered: code >= 200 && code < 300, HoldMS: int(hold.Milliseconds()),
	})
}

var sippSubscribe = template.Must(template.New("subscribe").Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="subscribe-{{.Event}}">
  <send retrans="500">
    <![CDATA[

      SUBSCRIBE sip:[service]@[domain] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[user]@[domain]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[domain]>
      Call-ID: [call_id]
      CSeq: 1 SUBSCRIBE
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Event: {{.Event}}
      Accept: {{.Accept}}
      Expires: 60
      Content-Length: 0

    ]]>
  </send>

  <recv response="407" auth="true"/>

  <send retrans="500">
    <![CDATA[

      SUBSCRIBE sip:[service]@[domain] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[user]@[domain]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[domain]>
      Call-ID: [call_id]
      CSeq: 2 SUBSCRIBE
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Event: {{.Event}}
      Accept: {{.Accept}}
      Expires: 60
      [authentication]
      Content-Length: 0

    ]]>
  </send>

  <recv response="202" optional="true" next="notify"/>
  <recv response="200"/>

  <label id="notify"/>
  <recv request="NOTIFY">
    <action>
      <ereg regexp="{{.BodyRegexp}}" search_in="body" check_it="true" assign_to="matched"/>
    </action>
  </recv>

  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[user]@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>

  <Reference variables="matched"/>
</scenario>
`))

// ScenarioSubscribe subscribes, as lab user [user] (sipp -key user, with
// SippOptions.Username/Password for the 407 challenge), to event of
// [service]@[domain] through Kamailio, and passes when the first NOTIFY's
// body matches bodyRegexp (POSIX extended regular expression). Pass
// Keys{"user": "1003", "domain": k.Domain()} and Target k.Addr("udp").
// The subscription is left to expire after 60 s.
func ScenarioSubscribe(event, accept, bodyRegexp string) string {
	var b strings.Builder
	if err := sippSubscribe.Execute(&b, struct{ Event, Accept, BodyRegexp string }{event, accept, bodyRegexp}); err != nil {
		panic(err)
	}
	return b.String()
}

// sippAnswer is the server scenario family: answer an INVITE with PCMU,
// optionally check a hold and a resume re-INVITE, then take the BYE.
var sippAnswer = template.Must(template.New("answer").Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{{.Name}}">
  <recv request="INVITE" crlf="true" rrs="true"/>

  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>

  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

v=0
o=sipp 1 1 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv

    ]]>
  </send>

  <recv request="ACK" crlf="true"/>
{{if .HoldResume}}
  <!-- Hold: the UA's re-INVITE must say sendonly or inactive. -->
  <recv request="INVITE">
    <action>
      <ereg regexp="a=(sendonly|inactive)" search_in="body" check_it="true" assign_to="held"/>
    </action>
  </recv>

  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

v=0
o=sipp 1 2 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=recvonly

    ]]>
  </send>

  <recv request="ACK" crlf="true"/>

  <!-- Resume: the re-INVITE must no longer hold the call. -->
  <recv request="INVITE">
    <action>
      <ereg regexp="a=(sendonly|inactive|recvonly)" search_in="body" check_it_inverse="true" assign_to="still_held"/>
    </action>
  </recv>

  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

v=0
o=sipp 1 3 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv

    ]]>
  </send>

  <recv request="ACK" crlf="true"/>
{{end}}
  <recv request="BYE"/>

  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <!-- Absorb retransmitted BYEs (a loaded machine may resend before our
       200 got through the proxy) instead of failing on them. -->
  <timewait milliseconds="2000"/>
{{if .HoldResume}}
  <Reference variables="held,still_held"/>
{{end}}
</scenario>
`))

func renderSippAnswer(name string, holdResume bool) string {
	var b strings.Builder
	if err := sippAnswer.Execute(&b, struct {
		Name       string
		HoldResume bool
	}{name, holdResume}); err != nil {
		panic(err)
	}
	return b.String()
}

// ScenarioAnswer is a server scenario (StartSipp without Target): it
// answers one INVITE with 180 and 200 (PCMU, telephone-event), takes the
// ACK, and waits for the caller's BYE.
func ScenarioAnswer() string { return renderSippAnswer("answer", false) }

// ScenarioAnswerHoldResume is ScenarioAnswer plus, between ACK and BYE, a
// re-INVITE that must put the call on hold (a=sendonly or a=inactive,
// answered recvonly) and one that must take it off hold.
func ScenarioAnswerHoldResume() string { return renderSippAnswer("answer-hold-resume", true) }

// ScenarioRegistrar423 is a server scenario: a registrar that answers the
// first REGISTER with 423 Interval Too Brief and Min-Expires: minExpires,
// requires the next REGISTER (same Call-ID) to ask for exactly that and
// grants it, then takes one more REGISTER (a refresh or the final
// un-REGISTER) with 200.
func ScenarioRegistrar423(minExpires int) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="registrar-423">
  <recv request="REGISTER"/>
  <send>
    <![CDATA[

      SIP/2.0 423 Interval Too Brief
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Min-Expires: %[1]d
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER">
    <action>
      <ereg regexp="^[[:space:]]*%[1]d[[:space:]]*$" search_in="hdr" header="Expires:" check_it="true" assign_to="asked"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Contact:];expires=%[1]d
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="500"/>
  <Reference variables="asked"/>
</scenario>
`, minExpires)
}
