// Package libvirttest gives tests a libvirt daemon and small domains to
// drive: Daemon starts libvirtd on a machine without systemd (a CI
// container) when none runs, and Define defines a TCG domain that the
// test's cleanup destroys and undefines.
//
// Tests that need a daemon call Daemon first: it skips the test, with the
// reason, under -short, when libvirt is not installed (make deps installs
// it) or when the daemon cannot be started (not root).
package libvirttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"
)

// URI is the daemon the tests use: the local system instance.
const URI = "qemu:///system"

// Socket is the system instance's read-write socket.
const Socket = "/var/run/libvirt/libvirt-sock"

// Prefix starts the name of every domain the tests define.
const Prefix = "bmcdtest-"

var (
	once sync.Once
	why  string // why the daemon is not there, "" when it is
)

// Daemon makes sure libvirtd runs and returns its URI; it skips t when it
// cannot, saying why. Without a daemon it prepares what Debian's
// libvirt-daemon-system would (group kvm and /dev/kvm in it, group and
// user libvirt-qemu, /var/log/libvirt, /var/run/libvirt), then starts
// virtlogd and libvirtd in the background, and waits for the socket.
func Daemon(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("libvirt: VM tests do not run with -short")
	}
	once.Do(func() { why = start() })
	if why != "" {
		t.Skip("libvirt: " + why)
	}
	return URI
}

// up reports whether the daemon's socket accepts connections.
func up() bool {
	c, err := net.DialTimeout("unix", Socket, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// start starts the daemon if needed; it returns why it is not running.
func start() string {
	if up() {
		return ""
	}
	for _, bin := range []string{"libvirtd", "virtlogd", "virsh", "qemu-system-x86_64"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Sprintf("%s not installed (make deps installs libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients, qemu-system-x86)", bin)
		}
	}
	if os.Geteuid() != 0 {
		return "libvirtd is not running, and starting it needs root"
	}
	steps := [][]string{
		{"sh", "-c", "getent group kvm >/dev/null || groupadd -r kvm"},
		{"sh", "-c", "getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu"},
		{"sh", "-c", "getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu"},
		{"mkdir", "-p", "/var/log/libvirt", "/var/run/libvirt", "/var/lib/libvirt"},
		// Debian's udev rule: without it libvirt (as libvirt-qemu) sees
		// KVM unusable where its probe (as root) saw it, and probes QEMU
		// again at every start, seconds each.
		{"sh", "-c", "[ ! -e /dev/kvm ] || { chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; }"},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Sprintf("preparing libvirtd: %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	_ = exec.Command("virtlogd", "-d").Run() // fails when one runs already
	if out, err := exec.Command("libvirtd", "-d").CombinedOutput(); err != nil && !up() {
		return fmt.Sprintf("libvirtd -d: %v: %s", err, out)
	}
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if up() {
			return ""
		}
	}
	return "libvirtd started but its socket " + Socket + " did not answer within 30 s (see /var/log/libvirt)"
}

// Spec is a domain to define. The zero value is a BIOS q35 machine with
// 64 MiB, a serial console on a pty and VNC graphics on 127.0.0.1, no
// disk, CD-ROM or NIC.
type Spec struct {
	Name      string // after Prefix and before a random suffix; default "vm"
	Machine   string // "q35" (default) or "pc"
	MemoryMiB int    // default 64
	UEFI      bool   // firmware='efi', without Secure Boot
	// UEFIAuto: firmware='efi' without firmware features, as
	// virt-install --boot uefi defines it: libvirt picks the firmware at
	// each start (on Debian, OVMF with Secure Boot and Microsoft's keys).
	UEFIAuto bool
	NIC      bool // a user-mode virtio NIC
	Disk     bool // a blank virtio disk (vda), sparse
	DiskMiB  int  // its size; default 1
	CDROM    bool // an empty SATA (IDE on pc) CD-ROM drive
	// BootISO puts this image (copied where QEMU can read it) in a
	// second CD-ROM drive, after an empty one (the media slot), which
	// the firmware boots when the disk and the slot cannot.
	BootISO  string
	NoSerial bool
	NoVNC    bool
}

var domainXML = template.Must(template.New("domain").Parse(`<domain type='qemu'>
  <name>{{.Name}}</name>
  <memory unit='MiB'>{{.MemoryMiB}}</memory>
  <vcpu>1</vcpu>
  <os{{if or .UEFI .UEFIAuto}} firmware='efi'{{end}}><type arch='x86_64' machine='{{.Machine}}'>hvm</type>
{{- if .UEFI}}<firmware><feature enabled='no' name='enrolled-keys'/><feature enabled='no' name='secure-boot'/></firmware>{{end}}</os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
{{- if .DiskFile}}
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{{.DiskFile}}'/><target dev='vda' bus='virtio'/></disk>
{{- end}}
{{- if or .CDROM .ISOFile}}
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='{{.CDDev}}' bus='{{.CDBus}}'/><readonly/></disk>
{{- end}}
{{- if .ISOFile}}
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{{.ISOFile}}'/><target dev='{{.ISODev}}' bus='{{.CDBus}}'/><readonly/></disk>
{{- end}}
{{- if .NIC}}
    <interface type='user'><model type='virtio'/></interface>
{{- end}}
{{- if not .NoSerial}}
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
{{- end}}
{{- if not .NoVNC}}
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
    <video><model type='vga'/></video>
{{- end}}
    <memballoon model='none'/>
  </devices>
</domain>
`))

// Define defines the domain s on the daemon (Daemon first) and returns
// its name and UUID; the test's cleanup destroys and undefines it, its
// UEFI variables included.
func Define(t testing.TB, s Spec) (name, uuid string) {
	t.Helper()
	if s.Name == "" {
		s.Name = "vm"
	}
	if s.Machine == "" {
		s.Machine = "q35"
	}
	if s.MemoryMiB == 0 {
		s.MemoryMiB = 64
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	name = Prefix + s.Name + "-" + hex.EncodeToString(rnd[:])
	s.Name = name
	cdDev, isoDev, cdBus := "sda", "sdb", "sata"
	if s.Machine == "pc" {
		cdDev, isoDev, cdBus = "hdc", "hdd", "ide"
	}
	isoFile := ""
	if s.BootISO != "" {
		img, err := os.ReadFile(s.BootISO)
		if err != nil {
			t.Fatal(err)
		}
		isoFile = filepath.Join(MediaDir(t), name+".iso")
		if err := os.WriteFile(isoFile, img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	diskFile := ""
	if s.Disk {
		diskFile = filepath.Join(MediaDir(t), name+".img")
		if err := os.WriteFile(diskFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if s.DiskMiB == 0 {
			s.DiskMiB = 1
		}
		if err := os.Truncate(diskFile, int64(s.DiskMiB)<<20); err != nil {
			t.Fatal(err)
		}
	}
	var doc bytes.Buffer
	if err := domainXML.Execute(&doc, struct {
		Spec
		CDDev, ISODev, CDBus, DiskFile, ISOFile string
	}{s, cdDev, isoDev, cdBus, diskFile, isoFile}); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "domain.xml")
	if err := os.WriteFile(f, doc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	Virsh(t, "define", f)
	t.Cleanup(func() { Undefine(t, name) })
	uuid = strings.TrimSpace(Virsh(t, "domuuid", name))
	return name, uuid
}

// Undefine destroys (if it runs) and undefines the domain name, ignoring
// a domain that is not there.
func Undefine(t testing.TB, name string) {
	_, _ = virsh("destroy", name)
	if out, err := virsh("undefine", "--nvram", name); err != nil && !strings.Contains(out, "failed to get domain") {
		t.Errorf("virsh undefine %s: %v: %s", name, err, out)
	}
}

// Virsh runs virsh on the test daemon and returns its output; a failure
// fails the test.
func Virsh(t testing.TB, args ...string) string {
	t.Helper()
	out, err := virsh(args...)
	if err != nil {
		t.Fatalf("virsh %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

func virsh(args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-q", "-c", URI}, args...)...).CombinedOutput()
	return string(out), err
}

// State is virsh domstate of the domain: "running", "shut off", ...
func State(t testing.TB, name string) string {
	return strings.TrimSpace(Virsh(t, "domstate", name))
}

// MediaDir is a directory for virtual media images under the test's
// temporary directory that QEMU, running as libvirt-qemu, can reach: the
// directories on the way are made searchable by others.
func MediaDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}
