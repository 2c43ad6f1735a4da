package app

import (
	"sync"
	"time"
)

// RegState is the state of the SIP registration.
type RegState string

const (
	RegUnregistered RegState = "unregistered"
	RegRegistering  RegState = "registering"
	RegRegistered   RegState = "registered"
	RegFailed       RegState = "failed"
)

// Registration describes the account's registration as the agent sees it.
type Registration struct {
	State     RegState      `json:"state"`
	Account   string        `json:"account"`   // extension@domain
	Server    string        `json:"server"`    // host[:port]
	Transport string        `json:"transport"` // udp, tcp, tls
	Error     string        `json:"error,omitempty"`
	RetryIn   time.Duration `json:"retryIn,omitempty"`
	Since     time.Time     `json:"since"`
}

// Direction of a call.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// CallState is where a call is in its life.
type CallState string

const (
	CallDialing  CallState = "dialing"  // outbound, INVITE sent
	CallRinging  CallState = "ringing"  // outbound, remote is alerting
	CallIncoming CallState = "incoming" // inbound, not answered yet
	CallActive   CallState = "active"
	CallHeld     CallState = "held" // held by us
	CallEnded    CallState = "ended"
)

// Disposition is how a call ended, as stored in history.
type Disposition string

const (
	DispAnswered  Disposition = "answered"
	DispMissed    Disposition = "missed"    // inbound, caller gave up or nobody answered
	DispDeclined  Disposition = "declined"  // inbound declined by us, or outbound declined by the callee
	DispBusy      Disposition = "busy"      // outbound, callee busy
	DispNoAnswer  Disposition = "no-answer" // outbound, cancelled by us before answer
	DispFailed    Disposition = "failed"    // outbound, not found, unreachable, auth failed...
	DispCancelled Disposition = "cancelled"
)

// Call is the snapshot of one call that every observer sees.
type Call struct {
	ID          string      `json:"id"`
	Direction   Direction   `json:"direction"`
	Number      string      `json:"number"` // remote party's number or SIP user
	Name        string      `json:"name,omitempty"`
	State       CallState   `json:"state"`
	Muted       bool        `json:"muted"`
	RemoteHold  bool        `json:"remoteHold"`
	Waiting     bool        `json:"waiting"` // arrived while another call was active
	Codec       string      `json:"codec,omitempty"`
	Started     time.Time   `json:"started"`
	Answered    time.Time   `json:"answered,omitzero"`
	Ended       time.Time   `json:"ended,omitzero"`
	Disposition Disposition `json:"disposition,omitempty"`
	Reason      string      `json:"reason,omitempty"` // clear end or failure cause
	Quality     *Quality    `json:"quality,omitempty"`
}

// Quality is a call's measured audio quality.
type Quality struct {
	LossPct  float64 `json:"lossPct"`
	JitterMs float64 `json:"jitterMs"`
	RTTMs    float64 `json:"rttMs"` // 0 when RTCP gave none
	MOS      float64 `json:"mos"`
}

// DeviceEvent reports an audio device change.
type DeviceEvent struct {
	Kind     string `json:"kind"` // added, removed, fallback, restored, error
	Role     string `json:"role,omitempty"`
	Name     string `json:"name"`
	Fallback string `json:"fallback,omitempty"`
	Error    string `json:"error,omitempty"`
}

// EventType names an event on the bus.
type EventType string

const (
	EvRegistration EventType = "registration"
	EvCall         EventType = "call"
	EvDevice       EventType = "device"
	EvDTMF         EventType = "dtmf"
	EvSettings     EventType = "settings"
)

// Event is one message on the bus. Exactly one of the pointers is set,
// matching Type.
type Event struct {
	Type         EventType     `json:"type"`
	Time         time.Time     `json:"time"`
	Registration *Registration `json:"registration,omitempty"`
	Call         *Call         `json:"call,omitempty"`
	Device       *DeviceEvent  `json:"device,omitempty"`
	DTMF         string        `json:"dtmf,omitempty"`
	Settings     *Settings     `json:"settings,omitempty"`
}

// Bus fans events out to subscribers. Publish never blocks: a subscriber
// that falls behind by more than its buffer loses the oldest events and
// learns it through Dropped, which is why every consumer that must not
// miss state (the widget) re-reads the full state on reconnect.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription is one observer of the bus.
type Subscription struct {
	C       chan Event
	bus     *Bus
	mu      sync.Mutex
	dropped int
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: make(map[*Subscription]struct{})} }

// Subscribe registers an observer with a buffer of size events (at least 1).
func (b *Bus) Subscribe(size int) *Subscription {
	if size < 1 {
		size = 1
	}
	s := &Subscription{C: make(chan Event, size), bus: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close stops delivery to s and closes its channel.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.C)
	}
	b.mu.Unlock()
}

// Dropped reports how many events s lost because it fell behind.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Publish delivers e to every subscriber without blocking.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		for {
			select {
			case s.C <- e:
			default:
				// Full: drop the oldest so the newest state wins.
				select {
				case <-s.C:
					s.mu.Lock()
					s.dropped++
					s.mu.Unlock()
				default:
				}
				continue
			}
			break
		}
	}
}
