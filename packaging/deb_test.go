package packaging

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// debArch is Debian's name of Go's GOARCH (GOARM 7 for armhf).
var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386"}

// elfMachine is the ELF machine of each Debian architecture.
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM, "i386": elf.EM_386}

var debName = regexp.MustCompile(`^bmcd_([0-9][A-Za-z0-9.+~]*)_([a-z0-9]+)\.deb$`)

// debs are the packages `make deb` left in bin/, or, when there are none,
// one built here for this machine's architecture by the same script.
func debs(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not found: the .deb cannot be built or checked here")
	}
	found, _ := filepath.Glob("../bin/bmcd_*.deb")
	if len(found) > 0 {
		return found
	}
	if testing.Short() {
		t.Skip("-short: no bin/bmcd_*.deb (make deb) and no time to build one")
	}
	arch := debArch[runtime.GOARCH]
	if arch == "" {
		t.Skipf("no Debian architecture for GOARCH %s", runtime.GOARCH)
	}
	out := t.TempDir()
	cmd := exec.Command("./deb/build.sh", arch, out)
	cmd.Stderr = os.Stderr
	path, err := cmd.Output()
	if err != nil {
		t.Fatalf("build.sh %s: %v", arch, err)
	}
	return []string{strings.TrimSpace(string(path))}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// TestDeb checks each package: its control fields and name, the files it
// installs (binary, unit, configuration), the configuration a conffile,
// the maintainer scripts, and the binary's architecture (a static,
// stripped ELF of the package's machine). The package for this machine's
// architecture has its binary run on its own default configuration
// (-check-config) and its unit checked by systemd-analyze verify.
func TestDeb(t *testing.T) {
	for _, deb := range debs(t) {
		t.Run(filepath.Base(deb), func(t *testing.T) {
			m := debName.FindStringSubmatch(filepath.Base(deb))
			if m == nil {
				t.Fatalf("name %s is not bmcd_<version>_<arch>.deb", filepath.Base(deb))
			}
			version, arch := m[1], m[2]
			info := run(t, "dpkg-deb", "--info", deb)
			for _, want := range []string{"Package: bmcd\n", "Version: " + version + "\n", "Architecture: " + arch + "\n", "Maintainer: ", "Description: "} {
				if !strings.Contains(info, want) {
					t.Errorf("control lacks %q:\n%s", want, info)
				}
			}
			if strings.Contains(info, "Depends:") {
				t.Errorf("a static binary depends on nothing:\n%s", info)
			}
			contents := run(t, "dpkg-deb", "--contents", deb)
			for _, f := range []string{
				"-rwxr-xr-x root/root .* ./usr/bin/bmcd\n",
				"-rw-r--r-- root/root .* ./lib/systemd/system/bmcd.service\n",
				"-rw-r----- root/root .* ./etc/bmcd/bmcd.yaml\n",
			} {
				if !regexp.MustCompile(f).MatchString(contents) {
					t.Errorf("contents lack %q:\n%s", f, contents)
				}
			}

			ctrl := t.TempDir()
			run(t, "dpkg-deb", "--control", deb, ctrl)
			if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); string(b) != "/etc/bmcd/bmcd.yaml\n" {
				t.Errorf("conffiles %q, want the configuration", b)
			}
			for _, s := range []string{"postinst", "prerm", "postrm"} {
				p := filepath.Join(ctrl, s)
				if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
					t.Errorf("%s missing or not executable: %v", s, err)
					continue
				}
				run(t, "sh", "-n", p)
			}
			if b, _ := os.ReadFile(filepath.Join(ctrl, "postinst")); !bytes.Contains(b, []byte("[ -d /run/systemd/system ]")) {
				t.Error("postinst calls systemctl without checking that systemd runs")
			}

			root := t.TempDir()
			run(t, "dpkg-deb", "--extract", deb, root)
			bin := filepath.Join(root, "usr/bin/bmcd")
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if want, ok := elfMachine[arch]; !ok || f.Machine != want {
				t.Errorf("binary is for %s, want %s (%s)", f.Machine, want, arch)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("binary has an ELF interpreter: not static")
				}
			}
			if f.Section(".symtab") != nil {
				t.Error("binary not stripped (-ldflags -s)")
			}
			// HDMI capture is linked (go4vl, cgo): the stub's refusal is
			// not in the binary.
			if b, err := os.ReadFile(bin); err != nil || bytes.Contains(b, []byte("capture: built without cgo")) {
				t.Errorf("the %s binary is built without HDMI capture (install its C cross compiler: make deps): %v", arch, err)
			}

			if arch != debArch[runtime.GOARCH] {
				return // not runnable here
			}
			if out := run(t, bin, "-version"); out != "bmcd "+version+"\n" {
				t.Errorf("-version: %q, want the package's %s", out, version)
			}
			conf := filepath.Join(root, "etc/bmcd/bmcd.yaml")
			if out := run(t, bin, "-config", conf, "-check-config"); !strings.Contains(out, "configuration OK") {
				t.Errorf("-check-config on the shipped configuration: %q", out)
			}
			unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/bmcd.service"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"ExecStart=/usr/bin/bmcd -config /etc/bmcd/bmcd.yaml -state-dir /var/lib/bmcd\n", "Restart=on-failure\n", "WantedBy=multi-user.target\n"} {
				if !strings.Contains(string(unit), want) {
					t.Errorf("unit lacks %q", want)
				}
			}
			if _, err := exec.LookPath("systemd-analyze"); err != nil {
				t.Log("systemd-analyze not found: unit not verified")
				return
			}
			// The unit as installed, with ExecStart on the extracted binary.
			u := filepath.Join(t.TempDir(), "bmcd.service")
			if err := os.WriteFile(u, bytes.ReplaceAll(unit, []byte("/usr/bin/bmcd"), []byte(bin)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("systemd-analyze", "verify", u).CombinedOutput()
			if err != nil || bytes.Contains(out, []byte("bmcd.service")) {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
}
