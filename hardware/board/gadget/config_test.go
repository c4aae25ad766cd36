package gadget

import (
	"errors"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"gopkg.in/yaml.v3"
)

func TestConfigDecode(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // error substring; "" = valid
		check     func(Config) bool
	}{
		{name: "empty", src: `{}`, check: func(c Config) bool {
			d := c.withDefaults(hardware.Identity{})
			return d.VendorID == 0x1d6b && d.ProductID == 0x0104 && d.MaxPower == 250 && d.Root == DefaultRoot &&
				d.Name == "bmcd" && d.KeyboardDevice == "/dev/hidg0" && d.AbsoluteDevice == "/dev/hidg1" && d.RelativeDevice == "/dev/hidg2"
		}},
		{name: "all keys", src: `
name: kvm
udc: fe980000.usb
vendor_id: 0x1209
product_id: 0x0001
manufacturer: ACME
product: Box
serial: "0001"
max_power: 100
relative_mouse: true
keyboard_device: /dev/hidg3
`, check: func(c Config) bool {
			return c.Name == "kvm" && c.UDC == "fe980000.usb" && c.VendorID == 0x1209 && c.ProductID == 1 && c.Serial == "0001" &&
				c.MaxPower == 100 && c.RelativeMouse && c.KeyboardDevice == "/dev/hidg3"
		}},
		{name: "power", src: `max_power: 900`, want: "max_power"},
		{name: "vendor too big", src: `vendor_id: 0x10000`, want: "vendor_id"},
		{name: "name with slash", src: `name: a/b`, want: "name"},
		{name: "unknown key", src: `udc_name: x`, want: "udc_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			var c Config
			err := backendconfig.New("gadget", doc.Content[0]).Decode(&c)
			if err == nil {
				err = c.Check()
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tc.check(c) {
					t.Errorf("decoded %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	if err := (Config{Name: "a b"}).Check(); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("Check: %v", err)
	}
}
