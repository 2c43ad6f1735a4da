package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxNetstring bounds one ctrl_tcp message; baresip's answers are a few KB.
const maxNetstring = 1 << 20

// writeNetstring frames b as "<len>:<b>," (ctrl_tcp's framing).
func writeNetstring(w io.Writer, b []byte) error {
	_, err := fmt.Fprintf(w, "%d:%s,", len(b), b)
	return err
}

// readNetstring reads one "<len>:<data>," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	var n int
	digits := 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == ':' {
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("netstring: unexpected byte %q in length", c)
		}
		digits++
		if digits > len(strconv.Itoa(maxNetstring)) {
			return nil, errors.New("netstring: length too long")
		}
		n = n*10 + int(c-'0')
	}
	if digits == 0 {
		return nil, errors.New("netstring: empty length")
	}
	if n > maxNetstring {
		return nil, fmt.Errorf("netstring: %d bytes is over the %d limit", n, maxNetstring)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring: missing trailing comma")
	}
	return buf[:n], nil
}
