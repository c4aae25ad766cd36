package input

import "github.com/bmcd/bmcd/kvm/internal/kvmtest"

// newTestHub is a hub over the shared fakes (kvm/internal/kvmtest), typing
// without pauses.
func newTestHub() (*Hub, *kvmtest.Keyboard, *kvmtest.Pointer) {
	kb, p := kvmtest.NewKeyboard(), kvmtest.NewPointer(true, true)
	h := NewHub(kb, p)
	h.SetTypeDelay(0)
	return h, kb, p
}
