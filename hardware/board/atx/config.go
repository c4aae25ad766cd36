package atx

import (
	"fmt"
	"strings"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Default timings: a short press of the power button turns an off server
// on or asks a running OS for an ACPI shutdown; holding it for 5.5 s (over
// the ATX 4 s override, as kvmd does) forces the power off. kvmd clicks
// for 0.1 s and debounces its LEDs for 0.1 s; bmcd's defaults are longer
// (0.5 s: some boards miss a shorter press; 2 s: a LED blinking in S3
// sleep is not taken for Off).
const (
	DefaultShortPress      = 500 * time.Millisecond
	DefaultLongPress       = 5500 * time.Millisecond
	DefaultResetPress      = 500 * time.Millisecond
	DefaultLEDDebounce     = 2 * time.Second
	DefaultPowerCycleDelay = 4 * time.Second
)

// Config is the `atx:` block of a board's configuration (yaml keys,
// go-playground validate rules). Zero durations take the defaults.
type Config struct {
	// Chip is the GPIO chip of pins that name none: "gpiochip0" or
	// "/dev/gpiochip0" (gpiochip0 if empty).
	Chip string `yaml:"chip"`
	// PowerButton (output) and PowerLED (input) are required; the reset
	// button and the HDD LED are optional.
	PowerButton *Pin `yaml:"power_button" validate:"required"`
	ResetButton *Pin `yaml:"reset_button" validate:"omitempty"`
	PowerLED    *Pin `yaml:"power_led" validate:"required"`
	HDDLED      *Pin `yaml:"hdd_led" validate:"omitempty"`

	// The timings (zero: the defaults); see Timings.
	// ShortPress is the power button's click (on, ACPI shutdown).
	ShortPress time.Duration `yaml:"short_press" validate:"min=0,max=10s"`
	// LongPress is the power button held to force the power off.
	LongPress time.Duration `yaml:"long_press" validate:"min=0,max=30s"`
	// ResetPress is the reset button's click.
	ResetPress time.Duration `yaml:"reset_press" validate:"min=0,max=10s"`
	// LEDDebounce is how long the power LED holds a new level before the
	// power state follows it (see ATX).
	LEDDebounce time.Duration `yaml:"led_debounce" validate:"min=0,max=1m"`
	// PowerCycleDelay is the time off between the long and the short
	// press of a PowerCycle; longer than LEDDebounce, so the Off is seen.
	PowerCycleDelay time.Duration `yaml:"power_cycle_delay" validate:"min=0,max=1m"`
	// InputDebounce is the kernel's debounce of the LED inputs (0: none),
	// applied where the GPIO driver supports it.
	InputDebounce time.Duration `yaml:"input_debounce" validate:"min=0,max=1s"`
}

// Timings are the configured press durations and windows.
func (c Config) Timings() Timings {
	return Timings{ShortPress: c.ShortPress, LongPress: c.LongPress, ResetPress: c.ResetPress,
		LEDDebounce: c.LEDDebounce, PowerCycleDelay: c.PowerCycleDelay, InputDebounce: c.InputDebounce}
}

// Pin names one GPIO line: by Offset on Chip, or by its line Name (as
// `gpioinfo` lists it), exactly one of the two.
type Pin struct {
	Chip      string `yaml:"chip"`
	Offset    *int   `yaml:"offset" validate:"omitempty,min=0,max=1023"`
	Name      string `yaml:"name" validate:"omitempty,max=64"`
	ActiveLow bool   `yaml:"active_low"` // the line is active (pressed, lit) at its low level
}

// Timings are the press durations and the LED's debounce window.
type Timings struct {
	// ShortPress is the power button's click (on, ACPI shutdown).
	ShortPress time.Duration
	// LongPress is the power button held to force the power off.
	LongPress time.Duration
	// ResetPress is the reset button's click.
	ResetPress time.Duration
	// LEDDebounce is how long the power LED holds a new level before the
	// power state follows it (see ATX).
	LEDDebounce time.Duration
	// PowerCycleDelay is the time off between the long and the short
	// press of a PowerCycle; longer than LEDDebounce, so the Off is seen.
	PowerCycleDelay time.Duration
	// InputDebounce is the kernel's debounce of the LED inputs (0: none),
	// applied where the GPIO driver supports it.
	InputDebounce time.Duration
}

// withDefaults fills zero timings with the defaults.
func (t Timings) withDefaults() Timings {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.ShortPress, DefaultShortPress)
	def(&t.LongPress, DefaultLongPress)
	def(&t.ResetPress, DefaultResetPress)
	def(&t.LEDDebounce, DefaultLEDDebounce)
	def(&t.PowerCycleDelay, DefaultPowerCycleDelay)
	return t
}

// check is what the validate tags cannot say. Errors: ErrInvalid.
func (t Timings) check() error {
	t = t.withDefaults()
	if t.LongPress <= t.ShortPress {
		return fmt.Errorf("atx: long_press %s must be longer than short_press %s: %w", t.LongPress, t.ShortPress, hardware.ErrInvalid)
	}
	if t.PowerCycleDelay <= t.LEDDebounce {
		return fmt.Errorf("atx: power_cycle_delay %s must be longer than led_debounce %s: %w", t.PowerCycleDelay, t.LEDDebounce, hardware.ErrInvalid)
	}
	return nil
}

// Check reports a configuration that validate tags let through but Open
// cannot use: a pin with both or neither of offset and name, one line
// named for two roles, or timings out of order. Errors: ErrInvalid.
func (c Config) Check() error {
	pins := []struct {
		key string
		p   *Pin
	}{{"power_button", c.PowerButton}, {"reset_button", c.ResetButton}, {"power_led", c.PowerLED}, {"hdd_led", c.HDDLED}}
	seen := map[string]string{} // a line (chip/offset or name) -> its role
	for _, x := range pins {
		if x.p == nil {
			if x.key == "power_button" || x.key == "power_led" {
				return fmt.Errorf("atx.%s: required: %w", x.key, hardware.ErrInvalid)
			}
			continue
		}
		if (x.p.Offset == nil) == (x.p.Name == "") {
			return fmt.Errorf("atx.%s: give one of offset and name: %w", x.key, hardware.ErrInvalid)
		}
		line := "name " + x.p.Name
		if x.p.Offset != nil {
			chip := x.p.Chip
			if chip == "" {
				chip = c.Chip
			}
			chip = strings.TrimPrefix(chip, "/dev/")
			if chip == "" {
				chip = "gpiochip0"
			}
			line = fmt.Sprintf("%s line %d", chip, *x.p.Offset)
		}
		if other, dup := seen[line]; dup {
			return fmt.Errorf("atx.%s: %s is %s already: %w", x.key, line, other, hardware.ErrInvalid)
		}
		seen[line] = x.key
	}
	return c.Timings().check()
}
