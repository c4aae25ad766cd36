package conformance

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// TestGofishBiosAndBootOrder drives the BIOS attribute registry, the BIOS
// settings and the UEFI boot order with gofish's own types: Bios,
// AttributeRegistry, BootOption, Boot.BootOrder/BootNext, SetDefaultBootOrder.
func TestGofishBiosAndBootOrder(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	svc := c.GetService()
	sys := getSystem(t, c, "/redfish/v1/Systems/0")

	// The attribute registry the Bios names, found through Registries.
	bios, err := sys.Bios()
	if err != nil || bios == nil {
		t.Fatalf("Bios: %v", err)
	}
	files, err := svc.Registries()
	if err != nil {
		t.Fatal(err)
	}
	var reg *schemas.AttributeRegistry
	for _, f := range files {
		for _, loc := range f.Location {
			if f.ID == bios.AttributeRegistry && loc.Language == "en" {
				if reg, err = schemas.GetAttributeRegistry(c, loc.URI); err != nil {
					t.Fatalf("GetAttributeRegistry(%s): %v", loc.URI, err)
				}
			}
		}
	}
	if reg == nil || reg.ID != bios.AttributeRegistry || reg.Language != "en" || reg.RegistryVersion == "" {
		t.Fatalf("no registry %q among %d registry files (got %+v)", bios.AttributeRegistry, len(files), reg)
	}
	attrs := map[string]schemas.Attributes{}
	for _, a := range reg.RegistryEntries.Attributes {
		attrs[a.AttributeName] = a
	}
	for name := range bios.Attributes {
		if _, ok := attrs[name]; !ok {
			t.Errorf("Bios attribute %s is not in the registry", name)
		}
	}
	nic := attrs["PxeNicIndex"]
	if nic.Type != schemas.IntegerAttributeType || nic.UpperBound == nil || nic.LowerBound == nil {
		t.Fatalf("PxeNicIndex %+v", nic)
	}
	if v := attrs["ProcVirtualization"].Value; len(v) != 2 || v[0].ValueName != "Enabled" {
		t.Errorf("ProcVirtualization values %+v", v)
	}
	if !slices.Contains(bios.AllowedAttributeUpdateApplyTimes(), schemas.OnResetSettingsApplyTime) {
		t.Errorf("apply times %v", bios.AllowedAttributeUpdateApplyTimes())
	}

	// Settings checked against the registry.
	err = bios.UpdateBiosAttributes(schemas.SettingsAttributes{"ProcVirtualization": "Sometimes", "PxeNicIndex": float64(*nic.UpperBound + 1)})
	var rerr *schemas.Error
	if !errors.As(err, &rerr) || rerr.HTTPReturnedStatusCode != http.StatusBadRequest || len(rerr.ExtendedInfos) != 2 {
		t.Fatalf("bad attributes: %v", err)
	}
	var got []string
	for _, m := range rerr.ExtendedInfos {
		got = append(got, m.MessageID[strings.LastIndexByte(m.MessageID, '.')+1:]+" "+strings.Join(m.MessageArgs, "|"))
	}
	if want := []string{"PropertyValueNotInList Sometimes|/Attributes/ProcVirtualization", "PropertyValueOutOfRange 2|/Attributes/PxeNicIndex"}; !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	if err := bios.UpdateBiosAttributes(schemas.SettingsAttributes{"ProcVirtualization": "Disabled", "SriovGlobalEnable": true}); err != nil {
		t.Fatalf("good attributes: %v", err)
	}
	pending := b.Get(t, "/redfish/v1/Systems/0/Bios/Settings")["Attributes"].(map[string]any)
	if len(pending) != 2 || pending["ProcVirtualization"] != "Disabled" || pending["SriovGlobalEnable"] != true {
		t.Errorf("pending %v", pending)
	}

	// Boot options and the boot order.
	opts, err := sys.Boot.BootOptions(c)
	if err != nil || len(opts) == 0 || len(opts) != len(sys.Boot.BootOrder) {
		t.Fatalf("BootOptions: %d (%v), BootOrder %v", len(opts), err, sys.Boot.BootOrder)
	}
	var pxe, usb *schemas.BootOption
	for _, o := range opts {
		switch {
		case o.Alias == schemas.PxeBootSource && pxe == nil:
			pxe = o
		case o.Alias == schemas.UsbBootSource:
			usb = o
		}
		if !o.BootOptionEnabled || o.UefiDevicePath == "" || o.DisplayName == "" || o.RelatedItemCount > 1 {
			t.Errorf("option %+v", o)
		}
	}
	if pxe == nil || usb == nil {
		t.Fatal("no PXE or USB option")
	}
	if items, err := usb.RelatedItem(); err != nil || len(items) != 1 || items[0].ID != "USB" {
		t.Errorf("USB option RelatedItem %v, %v", items, err)
	}
	def, disk := sys.Boot.BootOrder, sys.Boot.BootOrder[0]
	if err := sys.SetBoot(&schemas.Boot{BootOrder: []string{pxe.BootOptionReference, disk, pxe.BootOptionReference}}); err == nil {
		t.Error("a BootOrder naming an option twice was accepted")
	}
	if err := sys.SetBoot(&schemas.Boot{BootOrder: []string{pxe.BootOptionReference, disk}}); err != nil {
		t.Fatalf("SetBoot BootOrder: %v", err)
	}
	sys = getSystem(t, c, sys.ODataID)
	if !slices.Equal(sys.Boot.BootOrder, []string{pxe.BootOptionReference, disk}) {
		t.Fatalf("BootOrder %v", sys.Boot.BootOrder)
	}

	// BootNext with UefiBootNext; the USB option cannot boot without a
	// medium, so the firmware falls through to the order.
	if err := sys.SetBoot(&schemas.Boot{BootSourceOverrideTarget: schemas.UefiBootNextBootSource,
		BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled, BootNext: usb.BootOptionReference}); err != nil {
		t.Fatalf("SetBoot BootNext: %v", err)
	}
	sys = getSystem(t, c, sys.ODataID)
	if sys.Boot.BootNext != usb.BootOptionReference || sys.Boot.BootSourceOverrideTarget != schemas.UefiBootNextBootSource {
		t.Fatalf("Boot %+v", sys.Boot)
	}
	if _, err := sys.Reset(schemas.OnResetType); err != nil {
		t.Fatal(err)
	}
	b.WaitPower(t, "0", "On")
	ev := lastBootEvent(t, b, "0")
	if !strings.Contains(ev, "from Pxe") || !strings.Contains(ev, pxe.BootOptionReference) || !strings.Contains(ev, "by BootOrder") ||
		!strings.Contains(ev, usb.BootOptionReference+") skipped: no medium in USB") {
		t.Errorf("boot event %q", ev)
	}
	sys = getSystem(t, c, sys.ODataID)
	if sys.Boot.BootNext != "" || sys.Boot.BootSourceOverrideEnabled != schemas.DisabledBootSourceOverrideEnabled {
		t.Errorf("after the boot: BootNext %q, Enabled %s", sys.Boot.BootNext, sys.Boot.BootSourceOverrideEnabled)
	}
	if bios, err = sys.Bios(); err != nil || bios.Attributes["ProcVirtualization"] != "Disabled" {
		t.Errorf("BIOS settings after the boot: %v (%v)", bios.Attributes, err)
	}

	// A disabled option is skipped; SetDefaultBootOrder restores the order.
	pxe.BootOptionEnabled = false
	if err := pxe.Update(); err != nil {
		t.Fatalf("BootOption.Update: %v", err)
	}
	if o, err := schemas.GetBootOption(c, pxe.ODataID); err != nil || o.BootOptionEnabled {
		t.Errorf("after Update: %+v, %v", o, err)
	}
	if _, err := sys.Reset(schemas.ForceRestartResetType); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() (bool, string) {
		ev := lastBootEvent(t, b, "0")
		return strings.Contains(ev, "from Hdd") && strings.Contains(ev, disk+" "), ev
	})
	if _, err := sys.SetDefaultBootOrder(); err != nil {
		t.Fatalf("SetDefaultBootOrder: %v", err)
	}
	sys = getSystem(t, c, sys.ODataID)
	if !slices.Equal(sys.Boot.BootOrder, def) {
		t.Errorf("default order %v, want %v", sys.Boot.BootOrder, def)
	}
}

// lastBootEvent is the newest "booting from" entry of a system's event log.
func lastBootEvent(t *testing.T, b *bmc, sys string) string {
	t.Helper()
	entries := b.Get(t, "/redfish/v1/Systems/"+sys+"/LogServices/EventLog/Entries")["Members"].([]any)
	last := ""
	for _, e := range entries {
		entry := e.(map[string]any)
		if m, _ := entry["Message"].(string); strings.Contains(m, "booting from") {
			// The registry's text, then how the firmware chose (Oem.bmcd.Detail).
			oem, _ := entry["Oem"].(map[string]any)
			ext, _ := oem["bmcd"].(map[string]any)
			d, _ := ext["Detail"].(string)
			last = m + " " + d
		}
	}
	return last
}
