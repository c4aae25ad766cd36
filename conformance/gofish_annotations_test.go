package conformance

import (
	"slices"
	"testing"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// TestGofishSetBootFromRead changes the Boot object gofish read and sends
// it back with SetBoot: gofish's Boot carries the annotations it read
// (BootSourceOverrideTarget@Redfish.AllowableValues,
// UefiTargetBootSourceOverride@Redfish.AllowableValues), which a service
// ignores in a request (DSP0266). Then Update() of the system.
func TestGofishSetBootFromRead(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	sys := getSystem(t, c, "/redfish/v1/Systems/0")
	boot := sys.Boot
	if len(boot.AllowableBootSourceOverrideTargetValues) == 0 || len(boot.AllowableUefiTargetBootSourceOverrideValues) == 0 {
		t.Fatalf("gofish read no allowable values to send back: %+v", boot)
	}
	order := slices.Clone(boot.BootOrder)
	slices.Reverse(order)
	boot.BootSourceOverrideTarget = schemas.PxeBootSource
	boot.BootSourceOverrideEnabled = schemas.OnceBootSourceOverrideEnabled
	boot.BootOrder = order
	if err := sys.SetBoot(&boot); err != nil {
		t.Fatalf("SetBoot with the Boot read (annotations included): %v", err)
	}
	sys = getSystem(t, c, "/redfish/v1/Systems/0")
	if sys.Boot.BootSourceOverrideTarget != schemas.PxeBootSource || sys.Boot.BootSourceOverrideEnabled != schemas.OnceBootSourceOverrideEnabled ||
		!slices.Equal(sys.Boot.BootOrder, order) {
		t.Errorf("after SetBoot: target %s, enabled %s, order %v; want Pxe, Once, %v",
			sys.Boot.BootSourceOverrideTarget, sys.Boot.BootSourceOverrideEnabled, sys.Boot.BootOrder, order)
	}

	sys.IndicatorLED = schemas.LitIndicatorLED
	if err := sys.Update(); err != nil {
		t.Fatalf("Update IndicatorLED: %v", err)
	}
	if sys = getSystem(t, c, "/redfish/v1/Systems/0"); sys.IndicatorLED != schemas.LitIndicatorLED || !sys.LocationIndicatorActive {
		t.Errorf("after Update: IndicatorLED %s, LocationIndicatorActive %v", sys.IndicatorLED, sys.LocationIndicatorActive)
	}
}
