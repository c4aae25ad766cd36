package libvirt

import (
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
)

// A domain as virt-install defines it: a virtio disk, a SATA CD-ROM, a
// NIC, BIOS boot from the disk through <os><boot dev=.../>.
const q35Domain = `<domain type='kvm'>
  <name>node-1</name>
  <uuid>4d2d9c8a-3f55-44c4-a5a7-4ce3fb70868f</uuid>
  <memory unit='KiB'>4194304</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='network'/><boot dev='hd'/></os>
  <cpu mode='host-passthrough'/>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/node-1.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><target dev='sda' bus='sata'/><readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:AA:BB:01'/><source network='provisioning'/><model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></source><boot order='1'/></hostdev>
    <serial type='pty'><target type='isa-serial' port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
  </devices>
</domain>`

// An i440FX domain with no CD-ROM, booting UEFI with an explicit loader.
const pcDomain = `<domain type='qemu'>
  <name>old</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>512</memory>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/old_VARS.fd</nvram>
  </os>
  <devices>
    <disk type='file' device='disk'><source file='/tmp/old.img'/><target dev='hda' bus='ide'/></disk>
  </devices>
</domain>`

func mustDef(t *testing.T, doc string) *libvirtxml.Domain {
	t.Helper()
	def, err := parseDef(doc)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// A UEFI domain as virt-install --boot uefi defines it: libvirt picks
// the firmware at each start, from its descriptors, features unsaid.
const efiAutoDomain = `<domain type='qemu'>
  <name>efi</name>
  <uuid>5b0c2f0e-1d1c-4a43-9f3e-2c1a0e6f7a01</uuid>
  <memory unit='KiB'>65536</memory>
  <os firmware='efi'><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/efi.qcow2'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>`

var ovmf = firmware{efi: true, secureBoot: true}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		doc       string
		fw        firmware
		refs      []string // reference/alias/slot/nic/disk of each option
		cdrom     string
		addCD     bool
		modes     []hardware.BootMode
		targets   []hardware.BootSource
		secure    bool
		serial    bool
		vncNet    string
		vncAddr   string
		modelName string
	}{
		{
			name: "q35", doc: q35Domain, fw: ovmf,
			refs:  []string{"Boot0001/Hdd//vda", "Boot0002/Cd/Cd/", "Boot0003/Pxe/NIC1/"},
			cdrom: "sda", modes: []hardware.BootMode{hardware.BootModeLegacy, hardware.BootModeUEFI},
			targets: []hardware.BootSource{hardware.BootPxe, hardware.BootHdd, hardware.BootCd, hardware.BootBiosSetup, hardware.BootUefiTarget, hardware.BootUefiBootNext},
			secure:  true, serial: true, vncNet: "", vncAddr: "", modelName: "Standard PC (Q35 + ICH9, 2009)",
		},
		{
			name: "pc without CD-ROM", doc: pcDomain, fw: firmware{efi: true},
			refs:  []string{"Boot0001/Hdd//hda", "Boot0002/Cd/Cd/"},
			cdrom: "hdb", addCD: true, modes: []hardware.BootMode{hardware.BootModeUEFI, hardware.BootModeLegacy},
			targets:   []hardware.BootSource{hardware.BootHdd, hardware.BootCd, hardware.BootBiosSetup, hardware.BootUefiTarget, hardware.BootUefiBootNext},
			modelName: "Standard PC (i440FX + PIIX, 1996)",
		},
		{
			name: "no OVMF", doc: q35Domain,
			refs:  []string{"Boot0001/Hdd//vda", "Boot0002/Cd/Cd/", "Boot0003/Pxe/NIC1/"},
			cdrom: "sda", modes: []hardware.BootMode{hardware.BootModeLegacy},
			targets:   []hardware.BootSource{hardware.BootPxe, hardware.BootHdd, hardware.BootCd, hardware.BootBiosSetup, hardware.BootUefiTarget, hardware.BootUefiBootNext},
			serial:    true,
			modelName: "Standard PC (Q35 + ICH9, 2009)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := mustDef(t, tc.doc)
			lo := newLayout(def, tc.fw)
			var refs []string
			for _, o := range lo.options() {
				refs = append(refs, strings.Join([]string{o.Reference, string(o.Alias), o.Slot + o.NIC, o.Disk}, "/"))
				if o.DevicePath == "" && o.Slot == "" {
					t.Errorf("%s has no device path", o.Reference)
				}
			}
			if !slices.Equal(refs, tc.refs) {
				t.Errorf("options %q, want %q", refs, tc.refs)
			}
			if lo.cdrom != tc.cdrom || lo.addCD != tc.addCD {
				t.Errorf("CD-ROM %s (added %v), want %s (%v)", lo.cdrom, lo.addCD, tc.cdrom, tc.addCD)
			}
			if !slices.Equal(lo.modes, tc.modes) {
				t.Errorf("modes %v, want %v", lo.modes, tc.modes)
			}
			if got := lo.targets(); !slices.Equal(got, tc.targets) {
				t.Errorf("targets %v, want %v", got, tc.targets)
			}
			if lo.secureBoot() != tc.secure {
				t.Errorf("secure boot %v, want %v", lo.secureBoot(), tc.secure)
			}
			if serialPTY(def) != tc.serial {
				t.Errorf("serial console %v, want %v", serialPTY(def), tc.serial)
			}
			if in := infoOf(def, nil); in.Model != tc.modelName || in.HostName != def.Name || in.UUID != def.UUID {
				t.Errorf("info %+v", in)
			}
		})
	}
}

// orderOf lists def's boot devices by <boot order>.
func orderOf(def *libvirtxml.Domain) string {
	k := bootKey(def)
	_, devs, _ := strings.Cut(k, " dev=")
	return devs
}

func TestApplyPlan(t *testing.T) {
	type want struct {
		order     string
		mode      hardware.BootMode
		secure    bool
		fwChanged bool
		cdrom     bool // the slot's CD-ROM drive is there
		smm       bool
		menu      bool // the firmware's boot menu, for BIOS setup
		// features: the secure-boot and enrolled-keys features both
		// say this ("yes", "no"); "" not checked.
		features string
	}
	opt := func(lo *layout, ref string) hardware.BootOption {
		for _, o := range lo.options() {
			if o.Reference == ref {
				return o
			}
		}
		t.Fatalf("no option %s", ref)
		return hardware.BootOption{}
	}
	for _, tc := range []struct {
		name string
		doc  string
		plan func(lo *layout) hardware.BootPlan
		want want
	}{
		{
			name: "persistent order, BIOS: os/boot replaced by per-device order, the host device after",
			doc:  q35Domain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeLegacy,
					Order: []string{"Boot0001", "Boot0002", "Boot0003"}}
			},
			want: want{order: "1=disk:vda,2=disk:sda,3=nic:52:54:00:aa:bb:01,4=hostdev", mode: hardware.BootModeLegacy, cdrom: true},
		},
		{
			name: "once PXE",
			doc:  q35Domain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootPxe, Option: opt(lo, "Boot0003"), Once: true, Mode: hardware.BootModeLegacy,
					Order: []string{"Boot0001", "Boot0002", "Boot0003"}}
			},
			want: want{order: "1=nic:52:54:00:aa:bb:01,2=disk:vda,3=disk:sda,4=hostdev", mode: hardware.BootModeLegacy, cdrom: true},
		},
		{
			name: "a disabled option boots nothing",
			doc:  q35Domain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootCd, Option: opt(lo, "Boot0002"), Image: "http://x/a.iso", Mode: hardware.BootModeLegacy,
					Order: []string{"Boot0001"}}
			},
			want: want{order: "1=disk:sda,2=disk:vda,3=hostdev", mode: hardware.BootModeLegacy, cdrom: true},
		},
		{
			name: "BIOS setup: the firmware waits at its menu; the order stays",
			doc:  q35Domain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootBiosSetup, Once: true, Mode: hardware.BootModeLegacy,
					Order: []string{"Boot0001", "Boot0002", "Boot0003"}}
			},
			want: want{order: "1=disk:vda,2=disk:sda,3=nic:52:54:00:aa:bb:01,4=hostdev", mode: hardware.BootModeLegacy, cdrom: true, menu: true},
		},
		{
			name: "UEFI with Secure Boot: firmware autoselection, SMM, variables reset",
			doc:  q35Domain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeUEFI, SecureBoot: true,
					Order: []string{"Boot0001", "Boot0002", "Boot0003"}}
			},
			want: want{order: "1=disk:vda,2=disk:sda,3=nic:52:54:00:aa:bb:01,4=hostdev", mode: hardware.BootModeUEFI, secure: true, fwChanged: true, cdrom: true, smm: true},
		},
		{
			name: "UEFI to BIOS drops the loader and its variables; the CD-ROM is added",
			doc:  pcDomain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeLegacy,
					Order: []string{"Boot0001", "Boot0002"}}
			},
			want: want{order: "1=disk:hda,2=disk:hdb", mode: hardware.BootModeLegacy, fwChanged: true, cdrom: true},
		},
		{
			name: "UEFI kept as it is, with its own loader; Secure Boot asked without the toggle is ignored",
			doc:  pcDomain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeUEFI, SecureBoot: true,
					Order: []string{"Boot0001", "Boot0002"}}
			},
			want: want{order: "1=disk:hda,2=disk:hdb", mode: hardware.BootModeUEFI, cdrom: true},
		},
		{
			name: "firmware='efi' without features, Secure Boot off: both features written 'no', variables reset",
			doc:  efiAutoDomain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeUEFI,
					Order: []string{"Boot0001"}}
			},
			want: want{order: "1=disk:vda", mode: hardware.BootModeUEFI, fwChanged: true, cdrom: true, features: "no"},
		},
		{
			name: "firmware='efi' without features, Secure Boot on: both features written 'yes', SMM",
			doc:  efiAutoDomain,
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeUEFI, SecureBoot: true,
					Order: []string{"Boot0001"}}
			},
			want: want{order: "1=disk:vda", mode: hardware.BootModeUEFI, secure: true, fwChanged: true, cdrom: true, smm: true, features: "yes"},
		},
		{
			name: "firmware='efi' with secure-boot 'no' but no enrolled-keys: completed",
			doc:  strings.Replace(efiAutoDomain, "<os firmware='efi'>", "<os firmware='efi'><firmware><feature enabled='no' name='secure-boot'/></firmware>", 1),
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeUEFI,
					Order: []string{"Boot0001"}}
			},
			want: want{order: "1=disk:vda", mode: hardware.BootModeUEFI, fwChanged: true, cdrom: true, features: "no"},
		},
		{
			name: "firmware='efi' with both features 'no': nothing to change",
			doc:  strings.Replace(efiAutoDomain, "<os firmware='efi'>", "<os firmware='efi'><firmware><feature enabled='no' name='enrolled-keys'/><feature enabled='no' name='secure-boot'/></firmware>", 1),
			plan: func(lo *layout) hardware.BootPlan {
				return hardware.BootPlan{Source: hardware.BootHdd, Option: opt(lo, "Boot0001"), Mode: hardware.BootModeUEFI,
					Order: []string{"Boot0001"}}
			},
			want: want{order: "1=disk:vda", mode: hardware.BootModeUEFI, cdrom: true, features: "no"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := mustDef(t, tc.doc)
			fw := ovmf
			if strings.Contains(tc.doc, "i440fx") {
				fw = firmware{efi: true} // no Secure Boot on i440FX
			}
			lo := newLayout(def, fw)
			changed := applyPlan(def, tc.plan(lo), lo)
			if got := orderOf(def); got != tc.want.order {
				t.Errorf("boot order %s, want %s", got, tc.want.order)
			}
			if len(def.OS.BootDevices) != 0 {
				t.Errorf("os/boot left with per-device order: %+v", def.OS.BootDevices)
			}
			if m := modeOf(def); m != tc.want.mode {
				t.Errorf("mode %s, want %s", m, tc.want.mode)
			}
			if s := secureOf(def); s != tc.want.secure {
				t.Errorf("secure boot %v, want %v", s, tc.want.secure)
			}
			if changed != tc.want.fwChanged {
				t.Errorf("firmware changed %v, want %v", changed, tc.want.fwChanged)
			}
			if _, ok := cdromFile(def, lo); ok != tc.want.cdrom {
				t.Errorf("CD-ROM there %v, want %v", ok, tc.want.cdrom)
			}
			if smm := def.Features != nil && def.Features.SMM != nil && def.Features.SMM.State == "on"; smm != tc.want.smm {
				t.Errorf("SMM %v, want %v", smm, tc.want.smm)
			}
			if tc.want.features != "" && !featuresSay(def, tc.want.features == "yes") {
				t.Errorf("firmware features %+v, want secure-boot and enrolled-keys %s", def.OS.FirmwareInfo, tc.want.features)
			}
			if menu := def.OS.BootMenu != nil && *def.OS.BootMenu == setupMenu; menu != tc.want.menu {
				t.Errorf("boot menu %+v, want it %v", def.OS.BootMenu, tc.want.menu)
			}
			if tc.want.mode == hardware.BootModeLegacy && (def.OS.Loader != nil || def.OS.NVRam != nil || def.OS.Firmware != "") {
				t.Errorf("BIOS boot keeps a UEFI loader: %+v", def.OS)
			}
			// The definition libvirt gets is XML it reads back the same.
			doc, err := def.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			again := mustDef(t, doc)
			if bootKey(again) != bootKey(def) {
				t.Errorf("written %q, read back %q", bootKey(def), bootKey(again))
			}
			// The same plan again changes nothing.
			before, _ := def.Marshal()
			if applyPlan(def, tc.plan(lo), lo) {
				t.Error("the same plan again changed the firmware")
			}
			if after, _ := def.Marshal(); after != before {
				t.Errorf("the same plan again changed the definition:\n%s\n%s", before, after)
			}
		})
	}
}

// TestBootKeyLiveAndPersistent: a running domain's definition (the loader
// libvirt picked filled in) boots like the persistent one that asked for
// firmware autoselection; a changed order does not.
func TestBootKeyLiveAndPersistent(t *testing.T) {
	persistent := mustDef(t, `<domain type='qemu'><name>a</name>
	  <os firmware='efi'><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
	    <firmware><feature enabled='yes' name='enrolled-keys'/><feature enabled='yes' name='secure-boot'/></firmware></os>
	  <devices><interface type='user'><mac address='52:54:00:00:00:01'/><boot order='1'/></interface></devices></domain>`)
	live := mustDef(t, `<domain type='qemu' id='3'><name>a</name>
	  <os firmware='efi'><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
	    <firmware><feature enabled='yes' name='enrolled-keys'/><feature enabled='yes' name='secure-boot'/></firmware>
	    <loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>
	    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>/var/lib/libvirt/qemu/nvram/a_VARS.fd</nvram></os>
	  <devices><interface type='user'><mac address='52:54:00:00:00:01'/><boot order='1'/><alias name='net0'/></interface></devices></domain>`)
	if bootKey(persistent) != bootKey(live) {
		t.Errorf("persistent %q, live %q: want the same", bootKey(persistent), bootKey(live))
	}
	live.Devices.Interfaces[0].Boot = nil
	if bootKey(persistent) == bootKey(live) {
		t.Error("a boot order change went unseen")
	}
}

func TestCdromXML(t *testing.T) {
	def := mustDef(t, q35Domain)
	lo := newLayout(def, ovmf)
	for _, file := range []string{"/var/lib/bmcd/libvirt/media/x.iso", ""} {
		doc, err := cdromXML(def, lo, file)
		if err != nil {
			t.Fatal(err)
		}
		var d libvirtxml.DomainDisk
		if err := d.Unmarshal(doc); err != nil {
			t.Fatal(err)
		}
		if d.Device != "cdrom" || d.Target.Dev != "sda" || d.ReadOnly == nil || d.Source.File.File != file {
			t.Errorf("file %q: %s", file, doc)
		}
		if (file == "") == strings.Contains(doc, "<source") {
			t.Errorf("file %q: source element: %s", file, doc)
		}
	}
	if _, err := cdromXML(mustDef(t, pcDomain), newLayout(mustDef(t, pcDomain), ovmf), "/x.iso"); err == nil {
		t.Error("a domain without CD-ROM drive: no error")
	}
}

func TestFirmwareOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want firmware
	}{
		{"q35 with OVMF", `<domainCapabilities><os supported='yes'><enum name='firmware'><value>efi</value></enum>
		  <loader supported='yes'><value>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</value><enum name='secure'><value>yes</value><value>no</value></enum></loader></os></domainCapabilities>`,
			firmware{efi: true, secureBoot: true}},
		{"i440fx", `<domainCapabilities><os supported='yes'><enum name='firmware'><value>efi</value></enum>
		  <loader supported='yes'><value>/usr/share/OVMF/OVMF_CODE_4M.fd</value><enum name='secure'><value>no</value></enum></loader></os></domainCapabilities>`,
			firmware{efi: true}},
		{"no OVMF", `<domainCapabilities><os supported='yes'><loader supported='no'/></os></domainCapabilities>`, firmware{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var caps libvirtxml.DomainCaps
			if err := caps.Unmarshal(tc.doc); err != nil {
				t.Fatal(err)
			}
			if got := firmwareOf(&caps); got != tc.want {
				t.Errorf("%+v, want %+v", got, tc.want)
			}
		})
	}
	if got := firmwareOf(nil); got != (firmware{}) {
		t.Errorf("no capabilities: %+v", got)
	}
}

func TestVNCAddr(t *testing.T) {
	for _, tc := range []struct{ graphics, net, addr string }{
		{`<graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>`, "tcp", "127.0.0.1:5901"},
		{`<graphics type='vnc' port='5902' listen='0.0.0.0'/>`, "tcp", "host.example:5902"},
		{`<graphics type='vnc' port='5903' listen='::'/>`, "tcp", "host.example:5903"},
		{`<graphics type='vnc' port='5904' listen='::1'/>`, "tcp", "[::1]:5904"},
		{`<graphics type='vnc'><listen type='socket' socket='/run/libvirt/qemu/vnc.sock'/></graphics>`, "unix", "/run/libvirt/qemu/vnc.sock"},
		{`<graphics type='vnc' port='-1' autoport='yes'/>`, "", ""},
		{`<graphics type='spice' port='5900'/>`, "", ""},
	} {
		def := mustDef(t, `<domain type='qemu'><name>a</name><devices>`+tc.graphics+`</devices></domain>`)
		if n, a := vncAddr(def, "host.example"); n != tc.net || a != tc.addr {
			t.Errorf("%s: %s %s, want %s %s", tc.graphics, n, a, tc.net, tc.addr)
		}
	}
	def := mustDef(t, `<domain type='qemu'><name>a</name><devices><graphics type='vnc' port='-1' passwd='secret'/></devices></domain>`)
	if pw, ok := vncPassword(def); !ok || pw != "secret" {
		t.Errorf("password %q %v", pw, ok)
	}
	if _, ok := vncPassword(mustDef(t, q35Domain)); !ok {
		t.Error("VNC graphics not seen")
	}
	if _, ok := vncPassword(mustDef(t, pcDomain)); ok {
		t.Error("VNC graphics where there are none")
	}
}

func TestInfoOf(t *testing.T) {
	def := mustDef(t, q35Domain)
	in := infoOf(def, func(target string) int64 {
		if target == "vda" {
			return 20 << 30
		}
		return 0
	})
	if in.Manufacturer != "QEMU" || in.MemoryGiB != 4 || in.CoresPerProcessor != 2 || in.ProcessorCount != 1 {
		t.Errorf("info %+v", in)
	}
	if len(in.NICs) != 1 || in.NICs[0].MAC != "52:54:00:aa:bb:01" || in.NICs[0].ID != "NIC1" {
		t.Errorf("NICs %+v", in.NICs)
	}
	if len(in.Disks) != 1 || in.Disks[0].ID != "vda" || in.Disks[0].CapacityBytes != 20<<30 || in.Disks[0].Protocol != "PCIe" {
		t.Errorf("disks %+v (the CD-ROM is no disk)", in.Disks)
	}
	if len(in.StorageControllers) != 1 {
		t.Errorf("controllers %+v", in.StorageControllers)
	}
}

func TestParseURI(t *testing.T) {
	for _, tc := range []struct{ uri, remote, err string }{
		{"", "qemu:///system", ""},
		{"qemu:///system", "qemu:///system", ""},
		{"qemu:///session?socket=/run/user/1000/libvirt/libvirt-sock", "qemu:///session", ""},
		{"qemu+tcp://host:16509/system", "qemu:///system", ""},
		{"qemu+tls://host/system?no_verify=1", "qemu:///system", ""},
		{"qemu+libssh2://root@host/system?known_hosts_verify=ignore", "qemu:///system", ""},
		{"qemu+ssh://root@host/system", "qemu:///system", ""},
		{"qemu+ext:///system", "", "transport"},
		{"qemu+libssh2://host/system?known_hosts_verify=maybe", "", "known_hosts_verify"},
		{"system", "", "want driver"},
	} {
		ep, err := parseURI(tc.uri)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one about %s", tc.uri, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.uri, err)
		case tc.err == "" && string(ep.remote) != tc.remote:
			t.Errorf("%q: remote %s, want %s", tc.uri, ep.remote, tc.remote)
		}
	}
}

// TestSetupMenuGoes: the boot menu written for a BIOS setup boot goes with
// the next plan; a menu the domain had of its own stays.
func TestSetupMenuGoes(t *testing.T) {
	def := mustDef(t, q35Domain)
	lo := newLayout(def, ovmf)
	order := []string{"Boot0001", "Boot0002", "Boot0003"}
	applyPlan(def, hardware.BootPlan{Source: hardware.BootBiosSetup, Once: true, Mode: hardware.BootModeLegacy, Order: order}, lo)
	setup := bootKey(def)
	applyPlan(def, hardware.BootPlan{Source: hardware.BootHdd, Option: lo.devs[0].opt, Mode: hardware.BootModeLegacy, Order: order}, lo)
	if def.OS.BootMenu != nil {
		t.Errorf("boot menu %+v after the setup boot", def.OS.BootMenu)
	}
	if bootKey(def) == setup {
		t.Error("a BIOS setup boot and a disk boot have the same boot key: a restart would not start the domain again")
	}
	def.OS.BootMenu = &libvirtxml.DomainBootMenu{Enable: "yes", Timeout: "3000"}
	applyPlan(def, hardware.BootPlan{Source: hardware.BootHdd, Option: lo.devs[0].opt, Mode: hardware.BootModeLegacy, Order: order}, lo)
	if def.OS.BootMenu == nil {
		t.Error("the domain's own boot menu was removed")
	}
}
