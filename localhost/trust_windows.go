//go:build windows

package localhost

import "context"

func platformTrust(ctx context.Context, o TrustOptions, op trustOp) ([]StoreStatus, error) {
	st := StoreStatus{Store: "windows-user-root", Path: `Cert:\CurrentUser\Root`}
	st, err := runCommands(ctx, st, op, windowsCommands(op, CACertPath(o.DataDir)))
	return []StoreStatus{st}, err
}
