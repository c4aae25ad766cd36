package hardware

import "fmt"

// ErrPoweredOff: the operation needs the host running and it is off (in
// standby). It wraps ErrState, so callers that only know ErrState still
// recognise it.
var ErrPoweredOff = fmt.Errorf("host is powered off: %w", ErrState)
