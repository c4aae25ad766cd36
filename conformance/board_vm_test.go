package conformance

// The board backend on the real kernel: Debian's own kernel, booted under
// QEMU (TCG), loads configfs, libcomposite, dummy_hcd, the HID and mass
// storage gadget functions and vivid; bmcd (built with the atxsim tag, so
// a simulated server sits behind its GPIO chip "sim") runs the board
// backend in the VM, and conformance/boardvm/probe is the server's side
// of the USB cable, reading what the gadget presents. The real clients
// on the build machine reach bmcd through QEMU's forwarded ports.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/boardvm"
	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/coder/websocket"
)

// boardModules are the modules the VM loads, in an order that satisfies
// their dependencies (boardvm.Kernel.Modules adds what they need).
var boardModules = []string{
	"virtio_pci", "virtio_net", // the network to the build machine
	"configfs", "libcomposite", "usb_f_hid", "usb_f_mass_storage", "dummy_hcd", // the gadget
	"usbhid", "hid_generic", "usb_storage", "sr_mod", "sd_mod", // the server's side
	"vivid", // the capture device
}

// boardInit is the VM's /init: busybox mounts, loads the modules, brings
// up the network (QEMU's user network: 10.0.2.15), starts the probe and
// bmcd, and powers off when bmcd ends.
const boardInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
while read m args; do insmod /$m $args || echo "boardvm: insmod $m failed"; done < /modules
mount -t configfs none /sys/kernel/config
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
echo "boardvm: modules loaded"
ls /sys/class/udc /dev/video* 2>&1
/probe &
mkdir -p /tmp/state
/bmcd -config /bmcd.yaml -state-dir /tmp/state -redfish-addr 0.0.0.0:8443 -user admin -password Conformance1 -log-level debug
echo "boardvm: bmcd exited $?"
poweroff -f
`

// boardConfig is bmcd's configuration in the VM.
const boardConfig = `systems:
  - id: board
    backend: board
    board:
      manufacturer: Test Server Co
      atx:
        chip: sim
        power_button: {offset: 0}
        reset_button: {offset: 1}
        power_led: {offset: 2}
        hdd_led: {offset: 3}
        # the default timings: 0.5 s presses, 5.5 s long press, 2 s LED
        # debounce, 4 s between a power cycle's presses
      gadget:
        udc: dummy_udc.0
        relative_mouse: true
      capture:
        device: /dev/video0
ipmi:
  addr: "0.0.0.0:623"
`

// boardVM is a running board test VM.
type boardVM struct {
	vm                   *boardvm.VM
	redfish, ipmi, probe int // forwarded host ports
	bmc                  *bmc
}

// startBoardVM builds bmcd (atxsim) and the probe, packs them with the
// kernel's modules into an initramfs, boots it and waits for bmcd.
func startBoardVM(t *testing.T) *boardVM {
	t.Helper()
	if testing.Short() {
		t.Skip("the board VM boots a kernel under TCG: not in -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (make deps installs qemu-system-x86)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("/bin/busybox not installed (make deps installs busybox-static)")
	}
	k, err := boardvm.FindKernel(filepath.Join("..", "bin", "kernel"))
	if err != nil {
		t.Skipf("%v", err)
	}
	dir := t.TempDir()
	// bmcd links go4vl (cgo) for the capture device: statically, as the
	// initramfs has no C library.
	build := func(out, pkg string, cgo bool, tags ...string) string {
		args := []string{"build", "-o", filepath.Join(dir, out)}
		env := append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		if cgo {
			tags = append(tags, "netgo", "osusergo")
			args = append(args, "-ldflags", "-extldflags=-static")
			env = append(env, "CGO_ENABLED=1")
		}
		if len(tags) > 0 {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		cmd := exec.Command(goTool(), append(args, pkg)...)
		cmd.Dir = ".."
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		return filepath.Join(dir, out)
	}
	var rd boardvm.Initramfs
	rd.Add("bmcd", build("bmcd", "./cmd/bmcd", true, "atxsim"), 0o755)
	rd.Add("probe", build("probe", "./conformance/boardvm/probe", false), 0o755)
	rd.Add("bin/busybox", "/bin/busybox", 0o755)
	for _, d := range []string{"proc", "sys", "dev", "tmp", "etc"} {
		rd.AddDir(d)
	}
	rd.AddBytes("init", []byte(boardInit), 0o755)
	rd.AddBytes("bmcd.yaml", []byte(boardConfig), 0o644)
	mods, err := k.Modules(boardModules...)
	if err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	for _, m := range mods {
		data, name, err := boardvm.ModuleData(m)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(k.Root, filepath.Join(filepath.Dir(m), name))
		rd.AddBytes(rel, data, 0o644)
		args := ""
		switch name {
		case "vivid.ko":
			// one device, one HDMI input, capture node only
			args = "n_devs=1 node_types=0x1 num_inputs=1 input_types=0x3"
		}
		fmt.Fprintf(&list, "%s %s\n", rel, args)
	}
	rd.AddBytes("modules", []byte(list.String()), 0o644)
	initrd := filepath.Join(dir, "initrd.gz")
	if err := rd.Write(initrd); err != nil {
		t.Fatal(err)
	}
	// A forwarded port taken between its choice and QEMU's bind ends the
	// VM at once: boot again with other ports.
	var vm *boardvm.VM
	var fw []*boardvm.Forward
	for attempt := 1; ; attempt++ {
		fw = []*boardvm.Forward{{Proto: "tcp", GuestPort: 8443}, {Proto: "udp", GuestPort: 623}, {Proto: "tcp", GuestPort: 8000}}
		vm, err = boardvm.Boot(boardvm.Options{Kernel: k.Image, Initramfs: initrd, Append: "quiet", Forwards: fw})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		out, err := vm.WaitFor(ctx, `msg="redfish listening"`)
		cancel()
		if err == nil {
			break
		}
		vm.Stop()
		if attempt < 3 && strings.Contains(out, boardvm.ErrForward) {
			continue
		}
		t.Fatalf("%v; VM console:\n%s", err, out)
	}
	bv := &boardVM{vm: vm, redfish: fw[0].HostPort, ipmi: fw[1].HostPort, probe: fw[2].HostPort}
	t.Cleanup(func() {
		vm.Stop()
		if t.Failed() {
			t.Logf("VM console:\n%s", vm.Output())
		}
	})
	b := &bmc{t: t, User: adminUser, Password: adminPassword, client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil}},
		URL: fmt.Sprintf("https://127.0.0.1:%d", bv.redfish), Addr: fmt.Sprintf("127.0.0.1:%d", bv.redfish)}
	bv.bmc = b
	return bv
}

// probeGet fetches path from the probe as JSON into v.
func (bv *boardVM) probeGet(t *testing.T, path string, v any) {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", bv.probe, path))
	if err != nil {
		t.Fatalf("probe %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("probe %s: %d %s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("probe %s: %v: %s", path, err, body)
	}
}

// sushyBoard runs one step of clients/sushy_board.py against the VM's
// bmcd and fails t unless it succeeds.
func (bv *boardVM) sushyBoard(t *testing.T, args ...string) string {
	t.Helper()
	script, _ := filepath.Abs(filepath.Join("clients", "sushy_board.py"))
	full := append([]string{script, "--url", bv.bmc.URL, "--username", adminUser, "--password", adminPassword,
		"--system", "/redfish/v1/Systems/board"}, args...)
	out, code := runClient(t, 2*time.Minute, systemPython, full...)
	if code != 0 {
		t.Fatalf("sushy_board.py %s exited %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// ipmitool runs ipmitool -I lanplus against the VM's bmcd and fails t
// unless its output holds want.
func (bv *boardVM) ipmitool(t *testing.T, want string, args ...string) {
	t.Helper()
	// ipmitool's own timeout and retries (2 s, 4 tries): a board's long
	// press outlasts the first.
	full := append([]string{"-I", "lanplus", "-H", "127.0.0.1", "-p", fmt.Sprint(bv.ipmi), "-U", adminUser,
		"-P", adminPassword}, args...)
	out, code := runClient(t, time.Minute, "ipmitool", full...)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("ipmitool %s: exit %d, want %q in:\n%s", strings.Join(args, " "), code, want, out)
	}
}

// presses counts the simulated server's presses of button so far.
func (bv *boardVM) presses(button string) int {
	return strings.Count(bv.vm.Output(), "msg=\"atxsim press\" button="+button)
}

// waitPresses waits until the server has seen n presses of button.
func (bv *boardVM) waitPresses(t *testing.T, button string, n int) {
	t.Helper()
	eventually(t, 30*time.Second, func() (bool, string) {
		got := bv.presses(button)
		return got >= n, fmt.Sprintf("%d %s presses, want %d", got, button, n)
	})
}

// Report descriptors (hex), told apart: a keyboard's starts with Usage
// Page Generic Desktop, Usage Keyboard; a mouse's with Usage Mouse; the
// absolute one has Logical Maximum 32767.
var (
	isKeyboard = func(d string) bool { return strings.HasPrefix(d, "05010906") }
	isAbsolute = func(d string) bool { return strings.HasPrefix(d, "05010902") && strings.Contains(d, "26ff7f") }
	isRelative = func(d string) bool { return strings.HasPrefix(d, "05010902") && !strings.Contains(d, "26ff7f") }
)

// hidDevice is the probe's hidraw node whose report descriptor is.
func (bv *boardVM) hidDevice(t *testing.T, is func(descriptor string) bool) string {
	t.Helper()
	var dev string
	eventually(t, 30*time.Second, func() (bool, string) {
		var hid map[string]struct{ Descriptor string }
		bv.probeGet(t, "/hid", &hid)
		for name, d := range hid {
			if is(d.Descriptor) {
				dev = name
				return true, ""
			}
		}
		return false, fmt.Sprintf("no such hidraw device among %v", hid)
	})
	return dev
}

func (bv *boardVM) hidReports(t *testing.T, dev string) []string {
	t.Helper()
	var rs []string
	bv.probeGet(t, "/hid/reports?dev="+dev, &rs)
	return rs
}

// compareBlocks reads n bytes at each of offs from the server's block
// device dev and compares them with the image's.
func (bv *boardVM) compareBlocks(t *testing.T, dev string, image []byte, n int64, offs ...int64) {
	t.Helper()
	for _, off := range offs {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/block/read?dev=%s&off=%d&len=%d", bv.probe, dev, off, n))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(got, image[off:off+n]) {
			t.Errorf("the server read %d bytes at %d of %s unlike the image's (status %d)", len(got), off, dev, res.StatusCode)
		}
	}
}

type blockDev struct {
	Model     string
	Sectors   int64
	Read_Only bool `json:"read_only"`
	Removable bool
	Medium    bool
}

func TestBoardVM(t *testing.T) {
	requireSushy(t)
	requireIPMIClients(t)
	bv := startBoardVM(t)
	b := bv.bmc

	sys := b.Get(t, "/redfish/v1/Systems/board")
	if sys["PowerState"] != "Off" || sys["Manufacturer"] != "Test Server Co" {
		t.Errorf("System: PowerState %v, Manufacturer %v", sys["PowerState"], sys["Manufacturer"])
	}

	t.Run("PowerRedfish", func(t *testing.T) {
		// Ironic's one-time Cd override: accepted, nothing to do.
		bv.sushyBoard(t, "boot-cd")
		p0, r0 := bv.presses("power"), bv.presses("reset")
		bv.sushyBoard(t, "reset", "On")
		bv.waitPresses(t, "power", p0+1)
		bv.sushyBoard(t, "wait-power", "On")
		bv.sushyBoard(t, "reset", "ForceRestart")
		bv.waitPresses(t, "reset", r0+1)
		bv.sushyBoard(t, "reset", "ForceOff")
		bv.waitPresses(t, "power", p0+2)
		bv.sushyBoard(t, "wait-power", "Off")
		// The ForceOff press was held past the ATX override (4 s): 5.5 s.
		out := bv.vm.Output()
		last := out[strings.LastIndex(out, "msg=\"atxsim press\" button=power"):]
		if !strings.Contains(last[:strings.IndexByte(last, '\n')], "held=5.5") {
			t.Errorf("ForceOff's press: %s", last[:strings.IndexByte(last, '\n')])
		}
	})

	// ipmitool as a script uses it, with its own timeout and retries:
	// each command's presses happen once, and `power status` right after
	// says what the command did.
	t.Run("PowerIPMI", func(t *testing.T) {
		p0, r0 := bv.presses("power"), bv.presses("reset")
		bv.ipmitool(t, "Chassis Power is off", "power", "status")
		bv.ipmitool(t, "Up/On", "power", "on")
		bv.ipmitool(t, "Chassis Power is on", "power", "status")
		bv.ipmitool(t, "Reset", "power", "reset")
		bv.ipmitool(t, "Down/Off", "power", "off") // a 5.5 s press
		bv.ipmitool(t, "Chassis Power is off", "power", "status")
		bv.ipmitool(t, "Up/On", "power", "on")
		// A power cycle's presses take 10 s; ipmitool has its answer
		// before they end, and an On right after joins them.
		bv.ipmitool(t, "Cycle", "power", "cycle")
		bv.ipmitool(t, "Up/On", "power", "on")
		bv.ipmitool(t, "Chassis Power is on", "power", "status")
		bv.ipmitool(t, "Down/Off", "power", "off")
		// on, off (long), on, cycle (long, short), off (long); one reset.
		bv.waitPresses(t, "power", p0+6)
		bv.waitPresses(t, "reset", r0+1)
		time.Sleep(2 * time.Second)
		if p, r := bv.presses("power")-p0, bv.presses("reset")-r0; p != 6 || r != 1 {
			t.Errorf("%d power and %d reset presses, want 6 and 1 (a retry pressed again?)", p, r)
		}
		b.WaitPower(t, "board", "Off")
	})

	t.Run("Keyboard", func(t *testing.T) {
		kbd := bv.hidDevice(t, isKeyboard)
		mouse := bv.hidDevice(t, isAbsolute)
		rel := bv.hidDevice(t, isRelative)
		c := dialHID(t, b, "board")
		send := func(v map[string]any) {
			raw, _ := json.Marshal(v)
			if err := c.Write(context.Background(), websocket.MessageText, raw); err != nil {
				t.Fatal(err)
			}
		}
		n0 := len(bv.hidReports(t, kbd))
		for _, code := range []string{"KeyB", "KeyM", "KeyC"} {
			send(map[string]any{"t": "key", "code": code, "down": true})
			send(map[string]any{"t": "key", "code": code, "down": false})
		}
		// Usage IDs (HID Usage Tables 10): B 05, M 10, C 06; each press
		// then the release, in boot-keyboard reports.
		want := []string{"0000050000000000", "0000000000000000", "0000100000000000", "0000000000000000",
			"0000060000000000", "0000000000000000"}
		eventually(t, 15*time.Second, func() (bool, string) {
			rs := bv.hidReports(t, kbd)[n0:]
			return fmt.Sprint(rs) == fmt.Sprint(want), fmt.Sprintf("keyboard reports %v, want %v", rs, want)
		})
		// The server sets Caps Lock: the console hears it. (hidraw takes
		// the report number first: 00, the keyboard has none.)
		res, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/hid/output?dev=%s", bv.probe, kbd), "text/plain", strings.NewReader("0002"))
		if err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("probe's LED output report: %v %v", res, err)
		}
		res.Body.Close()
		if !readJSON(t, c, func(m map[string]any) bool { return m["t"] == "leds" && m["caps_lock"] == true }) {
			t.Error("the host's Caps Lock LED did not reach the console")
		}
		// The absolute pointer: the middle of the screen.
		m0 := len(bv.hidReports(t, mouse))
		send(map[string]any{"t": "mouse", "x": 16384, "y": 8192})
		eventually(t, 15*time.Second, func() (bool, string) {
			rs := bv.hidReports(t, mouse)[m0:]
			for _, r := range rs {
				if strings.HasPrefix(r, "0000400020") { // buttons 0, x 0x4000, y 0x2000 (little-endian)
					return true, ""
				}
			}
			return false, fmt.Sprintf("absolute mouse reports %v", rs)
		})
		// The relative mouse: 5 right, 3 up.
		r0 := len(bv.hidReports(t, rel))
		send(map[string]any{"t": "mouse", "dx": 5, "dy": -3})
		eventually(t, 15*time.Second, func() (bool, string) {
			rs := bv.hidReports(t, rel)[r0:]
			for _, r := range rs {
				if strings.HasPrefix(r, "0005fd") { // buttons 0, dx 5, dy -3
					return true, ""
				}
			}
			return false, fmt.Sprintf("relative mouse reports %v", rs)
		})
	})

	t.Run("VirtualMedia", func(t *testing.T) {
		iso := bootiso.Path(t, bootiso.Options{})
		data, err := os.ReadFile(iso)
		if err != nil {
			t.Fatal(err)
		}
		// The VM reaches the build machine's 127.0.0.1 as 10.0.2.2.
		url := strings.Replace(serveISO(t, iso), "127.0.0.1", "10.0.2.2", 1)
		bv.sushyBoard(t, "insert", url)
		var cd string
		eventually(t, 60*time.Second, func() (bool, string) {
			var blk map[string]blockDev
			bv.probeGet(t, "/block", &blk)
			for name, d := range blk {
				if strings.HasPrefix(name, "sr") && d.Medium && d.Sectors*512 == int64(len(data)) {
					cd = name
					return true, ""
				}
			}
			return false, fmt.Sprintf("no CD-ROM of %d bytes on the server: %+v", len(data), blk)
		})
		bv.compareBlocks(t, cd, data, 4096, 0, 32768, int64(len(data))-4096)
		bv.sushyBoard(t, "eject")
		eventually(t, 30*time.Second, func() (bool, string) {
			var blk map[string]blockDev
			bv.probeGet(t, "/block", &blk)
			return !blk[cd].Medium, fmt.Sprintf("after eject: %+v", blk)
		})
	})

	// The screen: vivid's HDMI input, captured as YUYV and encoded once;
	// its signal lost and found again at another resolution.
	t.Run("Screen", func(t *testing.T) {
		watchScreen(t, b, "board")
		snapshot := func() (image.Image, string) {
			r, err := b.Do(request{Method: http.MethodGet, Path: "/kvm/board/snapshot.jpg"})
			if err != nil || r.Status != http.StatusOK {
				return nil, fmt.Sprintf("snapshot: %v %v", r, err)
			}
			img, err := jpeg.Decode(bytes.NewReader(r.Body))
			if err != nil {
				return nil, "snapshot does not decode: " + err.Error()
			}
			return img, ""
		}
		// vivid's colour bars: eight bars across the picture.
		bars := func(img image.Image) int {
			seen := map[[3]uint32]bool{}
			bd := img.Bounds()
			for i := range 8 {
				r, g, bl, _ := img.At(bd.Min.X+(2*i+1)*bd.Dx()/16, bd.Min.Y+bd.Dy()/4).RGBA()
				seen[[3]uint32{r >> 12, g >> 12, bl >> 12}] = true
			}
			return len(seen)
		}
		var size image.Point
		eventually(t, 60*time.Second, func() (bool, string) {
			img, why := snapshot()
			if img == nil {
				return false, why
			}
			size = img.Bounds().Size()
			return bars(img) >= 6 && size.X >= 640, fmt.Sprintf("snapshot %v with %d colours across", size, bars(img))
		})
		t.Logf("vivid's HDMI picture: %v", size)
		control := func(name string, v int) {
			t.Helper()
			u := fmt.Sprintf("http://127.0.0.1:%d/v4l2/control?dev=video0&name=%s&value=%d", bv.probe, url.QueryEscape(name), v)
			res, err := http.Post(u, "text/plain", nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("set %s: %d %s", name, res.StatusCode, body)
			}
		}
		control("DV Timings Signal Mode", 1) // No Signal
		eventually(t, 30*time.Second, func() (bool, string) {
			img, why := snapshot()
			if img == nil {
				return false, why
			}
			return bars(img) <= 2 && strings.Contains(bv.vm.Output(), `msg="capture no signal"`),
				fmt.Sprintf("after the signal went: %d colours across, console says no signal: %v", bars(img),
					strings.Contains(bv.vm.Output(), `msg="capture no signal"`))
		})
		control("DV Timings", 0)             // the menu's first: 640x480p59.94
		control("DV Timings Signal Mode", 4) // Selected DV Timings
		eventually(t, 30*time.Second, func() (bool, string) {
			img, why := snapshot()
			if img == nil {
				return false, why
			}
			return img.Bounds().Size() == image.Pt(640, 480) && bars(img) >= 6,
				fmt.Sprintf("after the signal came back: %v, %d colours across", img.Bounds().Size(), bars(img))
		})
	})

	// A flash drive: the LUN turns from CD-ROM to removable disk, which
	// takes the gadget off the bus and back; the keyboard comes back with
	// it.
	t.Run("USBStick", func(t *testing.T) {
		img := make([]byte, 4<<20)
		copy(img, "bmcd board USB stick\n")
		copy(img[len(img)-512:], "the last sector\n")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "stick.img", time.Time{}, bytes.NewReader(img))
		}))
		t.Cleanup(srv.Close)
		url := strings.Replace(srv.URL, "127.0.0.1", "10.0.2.2", 1) + "/stick.img"
		b.Must(t, http.StatusNoContent, request{Method: http.MethodPost,
			Path: "/redfish/v1/Systems/board/VirtualMedia/USB/Actions/VirtualMedia.InsertMedia",
			Body: map[string]any{"Image": url, "Inserted": true, "WriteProtected": true}})
		var disk string
		eventually(t, 60*time.Second, func() (bool, string) {
			var blk map[string]blockDev
			bv.probeGet(t, "/block", &blk)
			for name, d := range blk {
				if strings.HasPrefix(name, "sd") && d.Medium && d.Sectors*512 == int64(len(img)) {
					if !d.Read_Only || !d.Removable {
						return false, fmt.Sprintf("%s: read-only %v, removable %v", name, d.Read_Only, d.Removable)
					}
					disk = name
					return true, ""
				}
			}
			return false, fmt.Sprintf("no flash drive of %d bytes on the server: %+v", len(img), blk)
		})
		bv.compareBlocks(t, disk, img, 512, 0, int64(len(img))-512)
		kbd := bv.hidDevice(t, isKeyboard)
		c := dialHID(t, b, "board")
		n0 := len(bv.hidReports(t, kbd))
		for _, down := range []bool{true, false} {
			raw, _ := json.Marshal(map[string]any{"t": "key", "code": "KeyZ", "down": down})
			if err := c.Write(context.Background(), websocket.MessageText, raw); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 15*time.Second, func() (bool, string) {
			rs := bv.hidReports(t, kbd)[n0:]
			return fmt.Sprint(rs) == "[00001d0000000000 0000000000000000]", fmt.Sprintf("keyboard reports after re-enumeration %v", rs)
		})
		b.Must(t, http.StatusNoContent, request{Method: http.MethodPost,
			Path: "/redfish/v1/Systems/board/VirtualMedia/USB/Actions/VirtualMedia.EjectMedia", Body: map[string]any{}})
		eventually(t, 30*time.Second, func() (bool, string) {
			var blk map[string]blockDev
			bv.probeGet(t, "/block", &blk)
			return !blk[disk].Medium, fmt.Sprintf("after eject: %+v", blk)
		})
	})
}

// dialHID opens the console's WebSocket HID endpoint of sys as the
// administrator.
func dialHID(t *testing.T, b *bmc, sys string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(b.User, b.Password)
	h.Set("Authorization", r.Header.Get("Authorization"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(b.URL, "https")+"/kvm/"+sys+"/hid",
		&websocket.DialOptions{HTTPClient: b.client, HTTPHeader: h, Subprotocols: []string{"bmcd.hid"}})
	if err != nil {
		t.Fatalf("HID of %s: %v", sys, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}
