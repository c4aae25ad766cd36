package input

import (
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestCodesHaveXT: every key a browser names (KeyboardEvent.code) has an
// XT scan code, for a VNC client's QEMU extended key event, but the ones
// a PC keyboard lacks.
func TestCodesHaveXT(t *testing.T) {
	for _, e := range codeTable {
		if _, ok := hardware.XTForKey(e.key); !ok {
			switch e.code {
			case "Open", "Select", "Paste", "Lang1", "Lang2":
			default:
				t.Errorf("%s (0x%02X) has no XT scan code", e.code, e.key)
			}
		}
	}
}
