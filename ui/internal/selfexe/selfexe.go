// Package selfexe finds the switchboard executable that start at login
// and the call-link handlers point the OS at.
package selfexe

import (
	"fmt"
	"os"
	"path/filepath"
)

// Path is override when set (tests, installers), else this process's
// executable with symbolic links resolved, so the OS keeps pointing at the
// real file when a link to it moves.
func Path(override string) (string, error) {
	if override != "" {
		return override, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the switchboard executable: %w", err)
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return p, nil
}
