package sip

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The PBX decides how long a registration lasts: it may grant less than
// we ask (many PBXs and SBCs cap it at a minute or two to keep NAT
// bindings warm) and says so in its 200, usually as an expires parameter
// on our Contact. diago's register transaction reads only an Expires
// header and does not hand the response out, so the UA watches REGISTER
// responses on their way to it and refreshes in time for the lifetime
// actually granted; a registration that silently lapses means missed
// calls.

// registerWatch is a REGISTER's client transaction whose responses pass
// through seen before the caller gets them. Done closes only once every
// response read has been handed on, so a final response is never lost to
// a reader that also watches Done.
type registerWatch struct {
	sip.ClientTransaction
	out  chan *sip.Response
	done chan struct{}
	stop chan struct{}
	once sync.Once
}

func watchRegister(tx sip.ClientTransaction, seen func(*sip.Response)) sip.ClientTransaction {
	w := &registerWatch{ClientTransaction: tx, out: make(chan *sip.Response), done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case res := <-tx.Responses():
				seen(res)
				select {
				case w.out <- res:
				case <-w.stop: // the caller is done with the transaction
					return
				case <-time.After(time.Minute): // nobody reads any more
					return
				}
			case <-tx.Done():
				return
			case <-w.stop:
				return
			}
		}
	}()
	return w
}

func (w *registerWatch) Responses() <-chan *sip.Response { return w.out }
func (w *registerWatch) Done() <-chan struct{}           { return w.done }

func (w *registerWatch) Terminate() {
	w.ClientTransaction.Terminate()
	w.once.Do(func() { close(w.stop) })
}

// grantedExpiry is the lifetime a 200 to our REGISTER grants: the expires
// parameter of our own Contact among the bindings it lists, else its
// Expires header. ok is false when it says neither.
func grantedExpiry(req *sip.Request, res *sip.Response) (time.Duration, bool) {
	ours := req.Contact()
	if ours != nil {
		for _, h := range res.GetHeaders("Contact") {
			c, isContact := h.(*sip.ContactHeader)
			if !isContact || !sameBinding(ours.Address, c.Address) {
				continue
			}
			if v, has := c.Params.Get("expires"); has {
				if d, ok := seconds(v); ok {
					return d, true
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		return seconds(h.Value())
	}
	return 0, false
}

func sameBinding(a, b sip.Uri) bool {
	return a.User == b.User && strings.EqualFold(a.Host, b.Host) && a.Port == b.Port
}

func seconds(v string) (time.Duration, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 7*24*3600 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// minExpires is the Min-Expires of a 423 (Interval Too Brief).
func minExpires(res *sip.Response) (time.Duration, bool) {
	if res == nil || res.StatusCode != 423 {
		return 0, false
	}
	h := res.GetHeader("Min-Expires")
	if h == nil {
		return 0, false
	}
	d, ok := seconds(h.Value())
	return d, ok && d > 0
}
