// Package gadget is the Linux board's USB gadget (issue 10): through the
// kernel's configfs (libcomposite) the board's USB OTG port becomes the
// server's keyboard, absolute mouse, optional relative mouse and a
// CD-ROM or flash drive, and this package writes the HID reports and
// chooses the drive's medium. It is a part of the board backend, usable
// alone; nothing here knows a protocol.
package gadget

import (
	"fmt"

	"github.com/bmcd/bmcd/hardware"
)

// Defaults, PiKVM-like: the Linux Foundation's vendor id and its
// "Multifunction Composite Gadget" product id.
const (
	DefaultName       = "bmcd"
	DefaultRoot       = "/sys/kernel/config/usb_gadget"
	DefaultUDCClass   = "/sys/class/udc"
	DefaultVendorID   = 0x1d6b
	DefaultProductID  = 0x0104
	DefaultMaxPower   = 250 // mA
	DefaultKeyboard   = "/dev/hidg0"
	DefaultAbsolute   = "/dev/hidg1"
	DefaultRelative   = "/dev/hidg2"
	DefaultProduct    = "bmcd Composite Device"
	DefaultVendorName = "bmcd"
)

// Config is the `gadget:` block of a board's configuration (yaml keys,
// go-playground validate rules). Zero values take the defaults.
type Config struct {
	// Name is the gadget's directory under Root ("bmcd").
	Name string `yaml:"name" validate:"omitempty,max=64,excludesall=/ "`
	// Root is configfs's usb_gadget directory
	// (/sys/kernel/config/usb_gadget).
	Root string `yaml:"root"`
	// UDC is the USB device controller to bind to, as /sys/class/udc
	// lists it (e.g. "fe980000.usb"); empty: the first one found there.
	UDC string `yaml:"udc" validate:"omitempty,max=128,excludesall=/"`
	// UDCClass is where controllers are listed (/sys/class/udc).
	UDCClass string `yaml:"udc_class"`
	// VendorID and ProductID are the device descriptor's idVendor and
	// idProduct (0x1d6b, 0x0104).
	VendorID  uint16 `yaml:"vendor_id"`
	ProductID uint16 `yaml:"product_id"`
	// Manufacturer, Product and Serial are the English (0x409) strings;
	// an empty Serial is derived from the system's identity.
	Manufacturer string `yaml:"manufacturer" validate:"omitempty,max=126"`
	Product      string `yaml:"product" validate:"omitempty,max=126"`
	Serial       string `yaml:"serial" validate:"omitempty,max=126"`
	// MaxPower is the configuration's bMaxPower in mA (250; USB 2.0
	// allows up to 500).
	MaxPower int `yaml:"max_power" validate:"min=0,max=500"`
	// RelativeMouse adds the relative mouse function hid.usb2.
	RelativeMouse bool `yaml:"relative_mouse"`
	// NoMassStorage leaves out the mass_storage.usb0 function.
	NoMassStorage bool `yaml:"no_mass_storage"`
	// The HID device nodes the kernel makes for hid.usb0, hid.usb1 and
	// hid.usb2 (/dev/hidg0, 1, 2: numbered in creation order, across
	// every gadget of the board).
	KeyboardDevice string `yaml:"keyboard_device"`
	AbsoluteDevice string `yaml:"absolute_device"`
	RelativeDevice string `yaml:"relative_device"`
}

// withDefaults fills the zero values; the serial comes from id.
func (c Config) withDefaults(id hardware.Identity) Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Name, DefaultName)
	def(&c.Root, DefaultRoot)
	def(&c.UDCClass, DefaultUDCClass)
	def(&c.Manufacturer, DefaultVendorName)
	def(&c.Product, DefaultProduct)
	def(&c.KeyboardDevice, DefaultKeyboard)
	def(&c.AbsoluteDevice, DefaultAbsolute)
	def(&c.RelativeDevice, DefaultRelative)
	if c.Serial == "" {
		s := id.Sum("bmcd-gadget")
		c.Serial = fmt.Sprintf("%X", s[:8])
	}
	if c.VendorID == 0 {
		c.VendorID = DefaultVendorID
	}
	if c.ProductID == 0 {
		c.ProductID = DefaultProductID
	}
	if c.MaxPower == 0 {
		c.MaxPower = DefaultMaxPower
	}
	return c
}

// Check reports what the validate tags cannot say. Errors: ErrInvalid.
func (c Config) Check() error {
	if c.MaxPower < 0 || c.MaxPower > 500 {
		return fmt.Errorf("gadget.max_power %d outside 0..500 mA: %w", c.MaxPower, hardware.ErrInvalid)
	}
	for _, s := range []struct{ key, v string }{{"name", c.Name}, {"udc", c.UDC}} {
		for _, r := range s.v {
			if r == '/' || r == ' ' || r == '\n' {
				return fmt.Errorf("gadget.%s %q: no '/', space or newline: %w", s.key, s.v, hardware.ErrInvalid)
			}
		}
	}
	return nil
}
