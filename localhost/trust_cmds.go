//go:build darwin || windows

package localhost

import "context"

// runCommands runs cmds in order; for status, success of the (single)
// command means trusted.
func runCommands(ctx context.Context, st StoreStatus, op trustOp, cmds [][]string) (StoreStatus, error) {
	for _, c := range cmds {
		if _, err := runTool(ctx, c[0], c[1:]...); err != nil {
			if op == trustStatus {
				return st, nil
			}
			if op == trustUninstall {
				continue // already absent is fine
			}
			return st, err
		}
	}
	switch op {
	case trustInstall, trustStatus:
		st.Trusted = true
	case trustUninstall:
		st.Detail = "removed"
	}
	return st, nil
}
