package hardware

// Version returns the machine's Generation and whether it is complete: a
// backend that reports its own power changes (PowerWatcher) bumps the
// generation on each, so anything rendered from the machine at one
// generation stays true until the next. Without a watcher, power must be
// read afresh and callers should not cache.
func (m *Machine) Version() (gen uint64, complete bool) {
	_, watched := m.backend.(PowerWatcher)
	return m.gen.Load(), watched
}
