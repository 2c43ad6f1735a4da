//go:build linux || freebsd || openbsd || netbsd

package localhost

import "context"

func platformTrust(ctx context.Context, o TrustOptions, op trustOp) ([]StoreStatus, error) {
	return linuxTrust(ctx, o, op)
}
