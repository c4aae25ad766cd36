package hardware

// Version returns the machine's Generation and whether it is complete.
// Every backend reports its power changes (Host.PowerChanged), each of
// which bumps the generation, so anything rendered from the machine at one
// generation stays true until the next: complete is always true. It is
// kept for callers that cache, should a backend ever be unable to report.
func (m *Machine) Version() (gen uint64, complete bool) {
	return m.gen.Load(), true
}
