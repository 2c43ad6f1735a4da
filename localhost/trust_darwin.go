//go:build darwin

package localhost

import (
	"context"
	"os"
	"path/filepath"
)

func platformTrust(ctx context.Context, o TrustOptions, op trustOp) ([]StoreStatus, error) {
	kc := o.Keychain
	if kc == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		kc = filepath.Join(home, "Library", "Keychains", "login.keychain-db")
	}
	st := StoreStatus{Store: "keychain", Path: kc}
	st, err := runCommands(ctx, st, op, macCommands(op, CACertPath(o.DataDir), kc))
	return []StoreStatus{st}, err
}
