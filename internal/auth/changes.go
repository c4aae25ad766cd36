package auth

// ChangeKind says what happened to an account.
type ChangeKind string

// Account changes.
const (
	Created ChangeKind = "Created"
	Changed ChangeKind = "Changed"
	Removed ChangeKind = "Removed"
)

// Change is one durable change to the account database, whichever
// protocol made it (a Redfish PATCH, an IPMI Set User Password).
type Change struct {
	Kind ChangeKind
	// Account is the account after the change (before it, for Removed).
	Account Account
	// PasswordChanged is true when a Changed set the password.
	PasswordChanged bool
}

type watcher struct{ fn func(Change) }

// OnChange calls fn after every change that has been stored, in the order
// the changes happened, until cancel is called. fn runs with the account
// database locked: it must return at once (hand the change to a queue) and
// must not call back into Accounts.
func (a *Accounts) OnChange(fn func(Change)) (cancel func()) {
	w := &watcher{fn: fn}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.watchers == nil {
		a.watchers = map[*watcher]struct{}{}
	}
	a.watchers[w] = struct{}{}
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.watchers, w)
	}
}

func (a *Accounts) notifyLocked(c Change) {
	for w := range a.watchers {
		w.fn(c)
	}
}
