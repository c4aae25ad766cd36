package ipmi

import (
	"bytes"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

func TestGetDeviceIDAndGUIDs(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, roUser, roPass, PrivUser)
	cc, d := c.mustCmd(NetFnApp, 0x01)
	want := []byte{0x20, 0x01, 0x01, 0x23, 0x02, 0x8F, 0, 0, 0, 0, 0, 4, 0, 0, 0}
	if cc != 0 || !bytes.Equal(d, want) {
		t.Fatalf("device ID: %#x % x", cc, d)
	}
	_, sys := c.mustCmd(NetFnApp, 0x37)
	g := guidWire(e.m.Info().UUID)
	if !bytes.Equal(sys, g[:]) {
		t.Fatalf("system GUID % x, want % x", sys, g)
	}
	_, dev := c.mustCmd(NetFnApp, 0x08)
	if len(dev) != 16 || bytes.Equal(dev, sys) || dev[9]>>4 != 5 {
		t.Fatalf("device GUID % x", dev)
	}
	// The BMC's GUID is the UUID Redfish gives its Manager.
	if g := guidWire(hardware.DeriveIdentity(e.srv.cfg.InstallUUID, e.m.ID()).ManagerUUID); !bytes.Equal(dev, g[:]) {
		t.Fatalf("device GUID % x, want the manager UUID % x", dev, g)
	}
	if cc, d := c.mustCmd(NetFnApp, 0x04); cc != 0 || !bytes.Equal(d, []byte{0x55, 0}) {
		t.Fatalf("self test % x", d)
	}
	if cc, d := c.mustCmd(NetFnApp, 0x07); cc != 0 || !bytes.Equal(d, []byte{0x05, 0}) {
		t.Fatalf("ACPI power state % x", d)
	}
}

func TestGUIDWire(t *testing.T) {
	g := guidWire("00112233-4455-6677-8899-aabbccddeeff")
	want := []byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00}
	if !bytes.Equal(g[:], want) {
		t.Fatalf("% x", g)
	}
	if g := guidWire("junk"); g != [16]byte{} {
		t.Fatal("junk GUID")
	}
}

func TestParseVersion(t *testing.T) {
	for v, want := range map[string][3]int{"0.1.0-dev": {0, 1, 0}, "v2.14.3": {2, 14, 3}, "x": {}, "300.100.9": {127, 99, 9}} {
		a, b, c := parseVersion(v)
		if [3]int{a, b, c} != want {
			t.Errorf("%s: %d.%d.%d", v, a, b, c)
		}
	}
}

func TestCompletionCodes(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	for _, tc := range []struct {
		name  string
		netfn byte
		cmd   byte
		data  []byte
		want  byte
	}{
		{"unknown command", NetFnApp, 0x99, nil, CCInvalidCommand},
		{"unknown netfn", 0x2C, 0x01, nil, CCInvalidCommand},
		{"chassis control short", NetFnChassis, 0x02, nil, CCLengthInvalid},
		{"chassis control reserved", NetFnChassis, 0x02, []byte{0x07}, CCInvalidData},
		{"power cycle while off", NetFnChassis, 0x02, []byte{0x02}, CCNotInPresentState},
		{"hard reset while off", NetFnChassis, 0x02, []byte{0x03}, CCNotInPresentState},
		{"diag while off", NetFnChassis, 0x02, []byte{0x04}, CCNotInPresentState},
		{"identify reserved bits", NetFnChassis, 0x04, []byte{5, 2}, CCInvalidData},
		{"boot options short", NetFnChassis, 0x09, []byte{5, 0}, CCLengthInvalid},
		{"boot param unsupported", NetFnChassis, 0x09, []byte{7, 0, 0}, ccParamNotSupported},
		{"boot param wrong length", NetFnChassis, 0x08, []byte{5, 0x80, 0x04}, CCLengthInvalid},
		{"boot device reserved", NetFnChassis, 0x08, []byte{5, 0x80, 0x0A << 2, 0, 0, 0}, CCInvalidData},
		{"channel info other channel", NetFnApp, 0x42, []byte{7}, CCInvalidData},
		{"channel access bad type", NetFnApp, 0x41, []byte{1, 0xC0}, CCInvalidData},
		{"user name bad id", NetFnApp, 0x46, []byte{0}, CCInvalidData},
		{"user name id 17", NetFnApp, 0x46, []byte{17}, CCInvalidData},
		{"session privilege reserved", NetFnApp, 0x3B, []byte{1}, CCInvalidData},
		{"activate session over RMCP+", NetFnApp, 0x3A, make([]byte, 22), CCNotInPresentState},
		{"session challenge over RMCP+", NetFnApp, 0x39, make([]byte, 17), CCInvalidCommand},
	} {
		if cc, _ := c.mustCmd(tc.netfn, tc.cmd, tc.data...); cc != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, cc, tc.want)
		}
	}
}

func TestChassisControlAndStatus(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(3, operUser, operPass, PrivOperator)
	status := func() []byte {
		cc, d := c.mustCmd(NetFnChassis, 0x01)
		if cc != 0 || len(d) != 4 {
			t.Fatalf("status %#x % x", cc, d)
		}
		return d
	}
	if d := status(); d[0] != 0x00 || d[2] != 0x40 {
		t.Fatalf("off: % x", d) // off, restore policy always-off, identify off
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatalf("power up %#x", cc)
	}
	e.waitPower(hardware.PowerOn)
	if d := status(); d[0] != 0x01 || d[1]&0x10 == 0 {
		t.Fatalf("on via IPMI: % x", d)
	}
	if cc, d := c.mustCmd(NetFnChassis, 0x07); cc != 0 || d[0] != 0x01 {
		t.Fatalf("restart cause % x", d)
	}
	for _, tc := range []struct {
		ctl  byte
		want hardware.PowerState
	}{{0x04, hardware.PowerOn}, {0x03, hardware.PowerOn}, {0x02, hardware.PowerOn}, {0x05, hardware.PowerOff}, {0x01, hardware.PowerOn}, {0x00, hardware.PowerOff}} {
		if cc, _ := c.mustCmd(NetFnChassis, 0x02, tc.ctl); cc != 0 {
			t.Fatalf("control %d: %#x", tc.ctl, cc)
		}
		e.waitPower(tc.want)
	}
	// Identify: timed (a blink), indefinite (lit), default 15 s, off.
	if cc, _ := c.mustCmd(NetFnChassis, 0x04, 30); cc != 0 || status()[2] != 0x50 || e.m.Identify().Mode != hardware.IdentifyBlinking {
		t.Fatalf("timed identify: %+v", e.m.Identify())
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x04, 0, 1); cc != 0 || status()[2] != 0x60 || e.m.Identify() != (hardware.IdentifyState{Mode: hardware.IdentifyLit}) {
		t.Fatalf("forced identify: %+v", e.m.Identify())
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x04); cc != 0 || status()[2] != 0x50 {
		t.Fatal("default identify")
	}
	if until := time.Until(e.m.Identify().Until); until < 14*time.Second || until > 15*time.Second {
		t.Errorf("default identify interval ends in %s, want 15 s", until)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x04, 0); cc != 0 || status()[2] != 0x40 || e.m.Identify().On() {
		t.Fatal("identify off")
	}
	// An indication Redfish set (indefinite, either look) is "indefinite on".
	for _, mode := range []hardware.IdentifyMode{hardware.IdentifyLit, hardware.IdentifyBlinking} {
		if err := e.m.SetIdentify(hardware.IdentifySetting{Mode: mode}); err != nil || status()[2] != 0x60 {
			t.Fatalf("%s from Redfish: status % x", mode, status())
		}
	}
	if cc, d := c.mustCmd(NetFnChassis, 0x00); cc != 0 || !bytes.Equal(d, []byte{0x04, 0x20, 0x20, 0x20, 0x20, 0x20}) {
		t.Fatalf("capabilities % x", d)
	}
}

func TestRetransmittedControlRunsOnce(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatal(cc)
	}
	e.waitPower(hardware.PowerOn)
	first := e.m.LastReset()
	// Same rqSeq, command and data in a new packet: a retry whose answer
	// was lost. It must not power-cycle the machine a second time.
	c.rqSeq--
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatal(cc)
	}
	if !e.m.LastReset().Equal(first) {
		t.Fatal("retransmission executed twice")
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 || e.m.LastReset().Equal(first) {
		t.Fatal("a new request was not executed")
	}
}

// limitedBackend is a machine that can only switch power and has no boot
// control, like a smart plug.
type limitedBackend struct{ backendtest.Switch }

func (b *limitedBackend) Info() hardware.Info {
	return hardware.Info{UUID: "11111111-2222-3333-4444-555555555555"}
}

func TestLimitedBackend(t *testing.T) {
	e := newEnv(t, &limitedBackend{})
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x04); cc != CCSubFnUnavailable {
		t.Fatalf("NMI: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatalf("on: %#x", cc)
	}
	if cc, d := c.mustCmd(NetFnChassis, 0x01); cc != 0 || d[0] != 0x61 {
		t.Fatalf("status (restore policy unknown, on): % x", d)
	}
	if cc, d := c.mustCmd(NetFnChassis, 0x00); cc != 0 || d[0] != 0 {
		t.Fatalf("capabilities % x", d)
	}
	// Boot flags are accepted and ignored: the read-back tells the truth.
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0xE0, 0x04, 0, 0, 0); cc != 0 {
		t.Fatalf("set boot flags: %#x", cc)
	}
	if cc, d := c.mustCmd(NetFnChassis, 0x09, 5, 0, 0); cc != 0 || d[2]&0x80 != 0 {
		t.Fatalf("boot flags on a machine without boot control: % x", d)
	}
}
