package qemu

import (
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// AttachConsole implements hardware.SerialConsole: COM1 of the VM, a
// socket chardev QEMU serves and bmcd reads from each start on. Bytes
// typed while the VM is off go nowhere.
func (m *Machine) AttachConsole(out func(p []byte)) func(p []byte) {
	m.mu.Lock()
	m.out = out
	m.mu.Unlock()
	return m.serialInput
}

// readSerial hands what the guest writes to COM1 to the console, until
// the connection ends.
func (m *Machine) readSerial(p *proc) {
	buf := make([]byte, 4096)
	for {
		n, err := p.serial.Read(buf)
		if n > 0 {
			m.mu.Lock()
			out := m.out
			m.mu.Unlock()
			if out != nil {
				m.serialMu.Lock() // never two calls of out at once
				out(buf[:n])
				m.serialMu.Unlock()
			}
		}
		if err != nil {
			return
		}
	}
}

// serialInput sends what the console types to COM1.
func (m *Machine) serialInput(b []byte) {
	m.mu.Lock()
	p := m.proc
	on := m.power != hardware.PowerOff
	m.mu.Unlock()
	if p == nil || p.serial == nil || !on {
		return
	}
	_ = p.serial.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = p.serial.Write(b)
}

// keyboard is the VNC keyboard, refused while the VM is off.
type keyboard struct{ m *Machine }

// Key implements hardware.Keyboard. Errors: ErrInvalid, ErrPoweredOff,
// ErrUnavailable (the VNC server does not answer).
func (k keyboard) Key(c hardware.KeyCode, down bool) error {
	if !c.Valid() {
		return k.m.vnc.Key(c, down) // ErrInvalid
	}
	if err := k.m.inputOn(); err != nil {
		return err
	}
	return k.m.vnc.Key(c, down)
}

// LEDs implements hardware.Keyboard.
func (k keyboard) LEDs() hardware.KeyboardLEDs { return k.m.vnc.LEDs() }

// WatchLEDs implements hardware.Keyboard.
func (k keyboard) WatchLEDs() (<-chan struct{}, func()) { return k.m.vnc.WatchLEDs() }

// pointer is the USB tablet, through VNC, refused while the VM is off.
type pointer struct{ m *Machine }

// PointerModes implements hardware.Pointer: absolute (a USB tablet).
func (p pointer) PointerModes() (bool, bool) { return p.m.vnc.PointerModes() }

// Point implements hardware.Pointer.
func (p pointer) Point(e hardware.PointerEvent) error {
	if err := e.Check(); err != nil {
		return err
	}
	if err := p.m.inputOn(); err != nil {
		return err
	}
	return p.m.vnc.Point(e)
}

func (m *Machine) inputOn() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.power == hardware.PowerOff {
		return hardware.ErrPoweredOff
	}
	return nil
}
