package atx

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"gopkg.in/yaml.v3"
)

func decode(t *testing.T, src string) (Config, error) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var c Config
	err := backendconfig.New("atx", doc.Content[0]).Decode(&c)
	if err == nil {
		err = c.Check()
	}
	return c, err
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // error substring; "" = valid
	}{
		{name: "PiKVM pins", src: `
chip: gpiochip0
power_button: {offset: 23}
reset_button: {offset: 27}
power_led: {offset: 24, active_low: true}
hdd_led: {offset: 22, active_low: true}
short_press: 300ms
long_press: 6s
`},
		{name: "by name", src: `
power_button: {name: ATX_PWR_BTN}
power_led: {name: ATX_PWR_LED, chip: gpiochip1}
`},
		{name: "no power LED", src: `power_button: {offset: 1}`, want: "power_led"},
		{name: "no power button", src: `power_led: {offset: 1}`, want: "power_button"},
		{name: "offset and name", src: "power_button: {offset: 1, name: X}\npower_led: {offset: 2}", want: "power_button: give one of offset and name"},
		{name: "neither", src: "power_button: {active_low: true}\npower_led: {offset: 2}", want: "give one of"},
		{name: "negative offset", src: "power_button: {offset: -1}\npower_led: {offset: 2}", want: "offset"},
		{name: "long not longer", src: "power_button: {offset: 1}\npower_led: {offset: 2}\nlong_press: 400ms", want: "long_press"},
		{name: "cycle under debounce", src: "power_button: {offset: 1}\npower_led: {offset: 2}\nled_debounce: 5s", want: "power_cycle_delay"},
		{name: "bad duration", src: "power_button: {offset: 1}\npower_led: {offset: 2}\nshort_press: soon", want: "short_press"},
		{name: "one line twice", src: "power_button: {offset: 23}\npower_led: {offset: 24}\nhdd_led: {offset: 23, chip: /dev/gpiochip0}", want: "atx.hdd_led: gpiochip0 line 23 is power_button already"},
		{name: "one name twice", src: "power_button: {name: PWR}\npower_led: {name: PWR}", want: "atx.power_led: name PWR is power_button already"},
		{name: "same offset, other chip", src: "power_button: {offset: 1}\npower_led: {offset: 1, chip: gpiochip1}"},
		{name: "unknown key", src: "power_button: {offset: 1}\npower_led: {offset: 2}\npowr: 1", want: "powr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decode(t, tc.src)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			if tc.name == "PiKVM pins" {
				if *c.PowerLED.Offset != 24 || !c.PowerLED.ActiveLow || c.ShortPress != 300*time.Millisecond || c.LongPress != 6*time.Second {
					t.Errorf("decoded %+v", c)
				}
			}
		})
	}
}

func TestOpenWithoutChip(t *testing.T) {
	off := func(n int) *int { return &n }
	_, err := Open(Config{Chip: "/nonexistent/gpiochip9", PowerButton: &Pin{Offset: off(23)}, PowerLED: &Pin{Offset: off(24)}})
	if !errors.Is(err, hardware.ErrUnavailable) || !strings.Contains(err.Error(), "atx.power_button") {
		t.Errorf("Open = %v, want ErrUnavailable naming atx.power_button", err)
	}
	_, err = Open(Config{PowerButton: &Pin{Offset: off(23)}})
	if !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("Open without a power LED = %v, want ErrInvalid", err)
	}
}
