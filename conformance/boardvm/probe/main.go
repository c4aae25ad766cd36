// Command probe runs inside the board test VM (conformance/boardvm) as
// the server's side of the USB cable: the host side of dummy_hcd, where
// bmcd's gadget appears as a USB keyboard, mice and a CD-ROM or flash
// drive. It serves what it sees over HTTP, for the test on the build
// machine to compare with what it asked bmcd for:
//
//	GET  /hid                      every hidraw device: name and report descriptor (hex)
//	GET  /hid/reports?dev=hidrawN  the input reports read so far, one hex line each
//	POST /hid/output?dev=hidrawN   write the body (hex) as an output report (keyboard LEDs)
//	GET  /block                    every SCSI block device: name, model, size, read-only, removable
//	GET  /block/read?dev=sr0&off=O&len=N  N bytes at O of /dev/<dev> (re-reads the medium)
//	POST /v4l2/control?dev=video0&name=N&value=V  set the V4L2 control named N
//	     (vivid's "DV Timings Signal Mode": the HDMI source's signal)
//
// It listens on :8000 (the VM's, forwarded by QEMU).
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

type hidDev struct {
	Name       string `json:"name"`
	Descriptor string `json:"descriptor"`
	Device     string `json:"device"`
}

var (
	mu      sync.Mutex
	reports = map[string][]string{}
	readers = map[string]bool{}
)

// watchHID starts a reader for each hidraw node as it appears.
func watchHID() {
	for {
		nodes, _ := filepath.Glob("/dev/hidraw*")
		for _, n := range nodes {
			name := filepath.Base(n)
			mu.Lock()
			started := readers[name]
			readers[name] = true
			mu.Unlock()
			if !started {
				go readHID(name)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readHID(name string) {
	// A node that fails is read again once watchHID sees it next.
	defer func() {
		mu.Lock()
		readers[name] = false
		mu.Unlock()
	}()
	f, err := os.Open("/dev/" + name)
	if err != nil {
		log.Printf("probe: %s: %v", name, err)
		return
	}
	defer f.Close()
	buf := make([]byte, 64)
	for {
		n, err := f.Read(buf)
		if err != nil {
			log.Printf("probe: %s: %v", name, err)
			return
		}
		mu.Lock()
		reports[name] = append(reports[name], hex.EncodeToString(buf[:n]))
		mu.Unlock()
	}
}

func sysfs(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

func listHID(w http.ResponseWriter, _ *http.Request) {
	nodes, _ := filepath.Glob("/sys/class/hidraw/hidraw*")
	out := map[string]hidDev{}
	for _, n := range nodes {
		name := filepath.Base(n)
		var d hidDev
		for _, l := range strings.Split(sysfs(n+"/device/uevent"), "\n") {
			if v, ok := strings.CutPrefix(l, "HID_NAME="); ok {
				d.Name = v
			}
		}
		rd, _ := os.ReadFile(n + "/device/report_descriptor")
		d.Descriptor = hex.EncodeToString(rd)
		d.Device, _ = filepath.EvalSymlinks(n + "/device")
		out[name] = d
	}
	writeJSON(w, out)
}

func hidReports(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	rs := append([]string(nil), reports[r.URL.Query().Get("dev")]...)
	mu.Unlock()
	writeJSON(w, rs)
}

func hidOutput(w http.ResponseWriter, r *http.Request) {
	dev := filepath.Base(r.URL.Query().Get("dev"))
	body, _ := io.ReadAll(r.Body)
	b, err := hex.DecodeString(strings.TrimSpace(string(body)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f, err := os.OpenFile("/dev/"+dev, os.O_WRONLY, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type blockDev struct {
	Model     string `json:"model"`
	Vendor    string `json:"vendor"`
	Sectors   int64  `json:"sectors"` // of 512 bytes, as /sys/block says
	ReadOnly  bool   `json:"read_only"`
	Removable bool   `json:"removable"`
	// Medium: the device opens for reading (a CD drive without a disc
	// refuses with ENOMEDIUM).
	Medium bool `json:"medium"`
}

func listBlock(w http.ResponseWriter, _ *http.Request) {
	nodes, _ := filepath.Glob("/sys/block/*")
	out := map[string]blockDev{}
	for _, n := range nodes {
		name := filepath.Base(n)
		if !strings.HasPrefix(name, "sr") && !strings.HasPrefix(name, "sd") {
			continue
		}
		// Opening the device has the kernel check its medium (sr polls
		// for none by itself): a CD inserted or ejected is seen now.
		if f, err := os.OpenFile("/dev/"+name, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		medium := false
		if f, err := os.Open("/dev/" + name); err == nil {
			medium = true
			f.Close()
		}
		sectors, _ := strconv.ParseInt(sysfs(n+"/size"), 10, 64)
		out[name] = blockDev{Model: sysfs(n + "/device/model"), Vendor: sysfs(n + "/device/vendor"),
			Sectors: sectors, ReadOnly: sysfs(n+"/ro") == "1", Removable: sysfs(n+"/removable") == "1", Medium: medium}
	}
	writeJSON(w, out)
}

func readBlock(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	off, err1 := strconv.ParseInt(q.Get("off"), 10, 64)
	n, err2 := strconv.ParseInt(q.Get("len"), 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || n > 16<<20 {
		http.Error(w, "off and len (1 to 16 MiB) required", http.StatusBadRequest)
		return
	}
	f, err := os.Open("/dev/" + filepath.Base(q.Get("dev")))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(buf[:m])
}

// V4L2 ioctls (linux/videodev2.h).
const (
	vidiocQueryCtrl = 0xc0445624 // _IOWR('V', 36, struct v4l2_queryctrl)
	vidiocSCtrl     = 0xc008561c // _IOWR('V', 28, struct v4l2_control)
	ctrlFlagNext    = 0x80000000 // V4L2_CTRL_FLAG_NEXT_CTRL
)

// queryCtrl is struct v4l2_queryctrl.
type queryCtrl struct {
	ID, Type                uint32
	Name                    [32]byte
	Min, Max, Step, Default int32
	Flags                   uint32
	Reserved                [2]uint32
}

func setControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	val, err := strconv.ParseInt(q.Get("value"), 10, 32)
	if err != nil {
		http.Error(w, "value: "+err.Error(), http.StatusBadRequest)
		return
	}
	f, err := os.OpenFile("/dev/"+filepath.Base(q.Get("dev")), os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	var qc queryCtrl
	qc.ID = ctrlFlagNext
	var names []string
	for {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), vidiocQueryCtrl, uintptr(unsafe.Pointer(&qc))); e != 0 {
			break
		}
		name := string(bytes.TrimRight(qc.Name[:], "\x00"))
		names = append(names, name)
		if name == q.Get("name") {
			c := [2]int32{int32(qc.ID), int32(val)}
			if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), vidiocSCtrl, uintptr(unsafe.Pointer(&c))); e != 0 {
				http.Error(w, "VIDIOC_S_CTRL: "+e.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		qc.ID |= ctrlFlagNext
	}
	http.Error(w, fmt.Sprintf("no control %q among %q", q.Get("name"), names), http.StatusNotFound)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	go watchHID()
	http.HandleFunc("GET /hid", listHID)
	http.HandleFunc("GET /hid/reports", hidReports)
	http.HandleFunc("POST /hid/output", hidOutput)
	http.HandleFunc("GET /block", listBlock)
	http.HandleFunc("GET /block/read", readBlock)
	http.HandleFunc("POST /v4l2/control", setControl)
	fmt.Println("probe listening on :8000")
	log.Fatal(http.ListenAndServe(":8000", nil))
}
