package conformance

import (
	"context"
	"crypto/tls"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// TestVNC: the real binary's VNC listener, where Redfish says it is
// (ManagerNetworkProtocol.KVMIP, Manager.GraphicalConsole), shows the same
// screen to vncsnapshot (Debian's, VNC Authentication with the configured
// password), to a Go RFB client logged in with an account over VeNCrypt,
// and to snapshot.png.
func TestVNC(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("vncsnapshot")
	if err != nil {
		t.Fatal("vncsnapshot is not installed; run `make deps`")
	}
	b := startBMC(t, bmcOpts{VNC: true})
	proto := b.Get(t, "/redfish/v1/Managers/0/NetworkProtocol")["KVMIP"].(map[string]any)
	port := int(proto["Port"].(float64))
	if proto["ProtocolEnabled"] != true || port == 0 {
		t.Fatalf("NetworkProtocol KVMIP %v", proto)
	}
	if g := b.Get(t, "/redfish/v1/Managers/0")["GraphicalConsole"].(map[string]any); g["ServiceEnabled"] != true {
		t.Errorf("Manager GraphicalConsole %v", g)
	}

	// Power on and wait for the OS's login prompt: the screen then stays.
	b.Must(t, 204, request{Method: "POST", Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", Body: map[string]any{"ResetType": "On"}})
	b.WaitPower(t, "0", "On")
	var want image.Image
	eventually(t, 20*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: "GET", Path: "/kvm/0/snapshot.png"})
		if err != nil || r.Status != 200 {
			return false, "no snapshot"
		}
		img, err := png.Decode(strings.NewReader(string(r.Body)))
		if err != nil {
			return false, err.Error()
		}
		time.Sleep(300 * time.Millisecond)
		r2, err := b.Do(request{Method: "GET", Path: "/kvm/0/snapshot.png"})
		if err != nil || string(r2.Body) != string(r.Body) {
			return false, "the screen is still changing"
		}
		want = img
		return true, ""
	})

	// vncsnapshot names a server by display number: port 5900+N.
	if port < 5900 {
		t.Fatalf("VNC port %d below 5900", port)
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := os.WriteFile(pw, rfb.ObfuscatePassword(vncPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "snap.jpg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log, err := exec.CommandContext(ctx, bin, "-passwd", pw, "-quality", "95", "127.0.0.1:"+strconv.Itoa(port-5900), out).CombinedOutput()
	if err != nil {
		t.Fatalf("vncsnapshot: %v\n%s", err, log)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("vncsnapshot's picture: %v", err)
	}
	if e := meanError(got, want); e > 6 {
		t.Errorf("vncsnapshot's picture differs from snapshot.png: mean error %.2f per channel", e)
	}

	// An account over VeNCrypt (X509Plain), as TigerVNC logs in.
	c, err := rfbtest.Dial("127.0.0.1:"+strconv.Itoa(port), rfbtest.Config{Security: 19,
		User: adminUser, Pass: adminPassword, TLS: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatalf("VeNCrypt login: %v", err)
	}
	defer c.Close()
	if c.Name != "bmcd 0" {
		t.Errorf("desktop name %q", c.Name)
	}
	if err := c.RequestUpdate(false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadUpdate(); err != nil {
		t.Fatal(err)
	}
	if e := meanError(c.FB, want); e > 1 {
		t.Errorf("the RFB client's screen differs from snapshot.png: mean error %.2f per channel", e)
	}
	if _, err := rfbtest.Dial("127.0.0.1:"+strconv.Itoa(port), rfbtest.Config{Security: 19,
		User: adminUser, Pass: "wrong-password", TLS: &tls.Config{InsecureSkipVerify: true}}); err == nil {
		t.Error("VeNCrypt with a wrong password got in")
	}

	// Connections that never log in, from many addresses, take only the
	// handshake places: the logged-in client goes on, and bmcd closes
	// them after 10 s (rfb.DefaultHandshakeTimeout).
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var idle []net.Conn
	for i := range rfb.DefaultMaxHandshakes {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/rfb.MaxHandshakesPerHost))}}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		idle = append(idle, conn)
	}
	opened := time.Now()
	if err := c.RequestUpdate(false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadUpdate(); err != nil {
		t.Fatalf("the logged-in client, beside %d idle connections: %v", len(idle), err)
	}
	for i, conn := range idle {
		conn.SetReadDeadline(opened.Add(20 * time.Second))
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Fatalf("idle connection %d was not closed by bmcd: %v", i, err)
		}
	}
	if d := time.Since(opened); d < 9*time.Second {
		t.Errorf("idle connections closed after %v, before the handshake's 10 s", d)
	}
	c2, err := rfbtest.Dial(addr, rfbtest.Config{Security: 19, User: adminUser, Pass: adminPassword, TLS: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatalf("a login once the idle connections were closed: %v", err)
	}
	c2.Close()
}

// meanError is the mean absolute difference per colour channel (0..255)
// of two pictures of the same size; 255 when the sizes differ.
func meanError(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 255
	}
	var sum, n int
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				sum += max(d, -d)
				n++
			}
		}
	}
	return float64(sum) / float64(n)
}
