package ipmi

import (
	"net/netip"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// Defaults of the failed-login limiter: a source may fail 10 logins in a
// burst, then one every 6 seconds.
const (
	DefaultFailureBurst  = auth.DefaultFailureBurst
	DefaultFailureRefill = auth.DefaultFailureRefill
)

// Limiter counts failed logins per source address. Only failures that
// prove the source receives our answers are charged (RAKP 1 onward needs
// the session ID from the Open Session response), so spoofed packets
// cannot lock a legitimate console out.
type Limiter = auth.Limiter[netip.Addr]

// NewLimiter allows burst failures, then one per refill.
func NewLimiter(burst int, refill time.Duration) *Limiter {
	return auth.NewLimiter[netip.Addr](burst, refill)
}
