package lab

import (
	"errors"
	"fmt"
	"net"
)

// FreePort returns a port on 127.0.0.1 that is free for network ("udp",
// "tcp" or "both", which checks UDP and TCP on the same number). The port
// is released before returning, so another process could take it first;
// the lab starts programs right away to keep that window small.
func FreePort(network string) (int, error) {
	switch network {
	case "udp", "udp4":
		return freeUDP()
	case "tcp", "tcp4":
		return freeTCP()
	case "both", "":
		for range 50 {
			p, err := freeTCP()
			if err != nil {
				return 0, err
			}
			if udpFree(p) {
				return p, nil
			}
		}
		return 0, errors.New("lab: no port free for both UDP and TCP on 127.0.0.1 after 50 tries")
	default:
		return 0, fmt.Errorf("lab: unknown network %q (want udp, tcp or both)", network)
	}
}

func freeTCP() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("lab: find free TCP port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freeUDP() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("lab: find free UDP port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func udpFree(port int) bool {
	c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freePorts returns n distinct ports free for both UDP and TCP.
func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := FreePort("both")
		if err != nil {
			return nil, err
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}
