package conformance

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

// firmwareServer serves update images on 127.0.0.1: /firmware/NAME is an
// image (a BMCD-FW header would say more; the simulation reads the
// version from the name), anything else 404.
type firmwareServer struct {
	URL  string // base, without a trailing slash
	hits atomic.Int64
}

// serveFirmware serves images over http.
func serveFirmware(t testing.TB) *firmwareServer {
	t.Helper()
	s := &firmwareServer{}
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// serveFirmwareTLS serves images over https with cert (see fetchtest).
func serveFirmwareTLS(t testing.TB, cert tls.Certificate) *firmwareServer {
	t.Helper()
	s := &firmwareServer{}
	s.URL = fetchtest.NewTLSServer(t, s.handler(), cert).URL
	return s
}

func (s *firmwareServer) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/firmware/") {
			http.NotFound(w, r)
			return
		}
		s.hits.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(append([]byte{0x7f, 'B', 'I', 'O', 'S'}, make([]byte, 64<<10)...))
	})
}

// TestSushyFirmwareUpdate runs clients/sushy_firmware_flow.py: what
// OpenStack Ironic's redfish firmware interface (and Metal3's
// HostFirmwareComponents through it) does, with sushy, to update a BIOS,
// then a NIC from an https server with a self-signed certificate (as
// Ironic's and Metal3's image servers have) under the default
// VerifyRemoteServerCertificate.
func TestSushyFirmwareUpdate(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 2})
	fw := serveFirmware(t)
	selfCert, _ := fetchtest.SelfSigned(t)
	fwTLS := serveFirmwareTLS(t, selfCert)
	script, err := filepath.Abs(filepath.Join("clients", "sushy_firmware_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password,
		"--image-url", fw.URL+"/firmware/bios-2.5.0.bin", "--version", "2.5.0",
		"--missing-url", fw.URL+"/nothing/bios-2.6.0.bin", "--system", "/redfish/v1/Systems/1",
		"--https-image-url", fwTLS.URL+"/firmware/nic-22.40.0.bin", "--https-version", "22.40.0")
	if code != 0 {
		t.Fatalf("sushy_firmware_flow.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	if !strings.Contains(out, "OK: sushy Ironic firmware update flow passed") {
		t.Fatalf("sushy_firmware_flow.py did not report success:\n%s", out)
	}
	if fw.hits.Load() == 0 || fwTLS.hits.Load() == 0 {
		t.Errorf("bmcd fetched %d http and %d https images sushy asked for", fw.hits.Load(), fwTLS.hits.Load())
	}
	// The other system was not touched, and the update survives a restart.
	// The BIOS shows every version as its factory one, "SIM 2.4.1
	// (2026-06-01)", dated (the image does not say) the day it came.
	if v := b.Get(t, "/redfish/v1/Systems/0")["BiosVersion"]; v != "SIM 2.4.1 (2026-06-01)" {
		t.Errorf("system 0 was updated too: %v", v)
	}
	bios1 := b.Get(t, "/redfish/v1/UpdateService/FirmwareInventory/BIOS_1")
	if v, _ := bios1["Version"].(string); !simBios250.MatchString(v) || bios1["ReleaseDate"] == nil ||
		v != b.Get(t, "/redfish/v1/Systems/1")["BiosVersion"] {
		t.Errorf("BIOS_1 %v", bios1)
	}
	tasks := taskURIs.FindAllString(out, -1)
	if len(tasks) < 3 {
		t.Errorf("the flow named tasks %v", tasks)
	}
	b.Terminate(10 * time.Second)
	b.Start()
	if v := b.Get(t, "/redfish/v1/Systems/1")["BiosVersion"]; v != bios1["Version"] {
		t.Errorf("after a restart BiosVersion %v, before %v", v, bios1["Version"])
	}
	// Tasks survive a restart: what sushy (Ironic) kept still answers,
	// as it ended (it once answered 404, which Ironic takes for success),
	// and a new task gets an Id of its own.
	for _, u := range tasks {
		if st := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: u}).JSON(t)["TaskState"]; st == "Running" || st == "New" {
			t.Errorf("after a restart %s is %v", u, st)
		}
	}
	r := b.Must(t, http.StatusAccepted, request{Method: http.MethodPost, Path: "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
		Body: map[string]any{"ImageURI": fw.URL + "/firmware/disk0-1.0.5.bin", "Targets": []string{"/redfish/v1/Systems/0"}}})
	if id, _ := r.JSON(t)["@odata.id"].(string); id == "" || slices.Contains(tasks, id) {
		t.Errorf("after a restart the new task is %q (before: %v)", id, tasks)
	}
	t.Logf("sushy firmware flow:\n%s", out)
}

// simBios250 is BIOS 2.5.0 as the simulated BIOS shows it.
var simBios250 = regexp.MustCompile(`^SIM 2\.5\.0 \(\d{4}-\d{2}-\d{2}\)$`)

// taskURIs finds the task URIs a client script printed.
var taskURIs = regexp.MustCompile(`/redfish/v1/TaskService/Tasks/[0-9]+`)

// TestGofishFirmwareUpdate drives the UpdateService with gofish: the
// FirmwareInventory, SimpleUpdate followed through its task monitor, and
// a multipart push update of a local file.
func TestGofishFirmwareUpdate(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 2})
	fw := serveFirmware(t)
	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	us, err := c.GetService().UpdateService()
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if !us.ServiceEnabled || us.MultipartHTTPPushURI == "" {
		t.Errorf("UpdateService: enabled %v, MultipartHttpPushUri %q", us.ServiceEnabled, us.MultipartHTTPPushURI)
	}
	inventory := func(id string) *schemas.SoftwareInventory {
		t.Helper()
		inv, err := us.FirmwareInventory()
		if err != nil {
			t.Fatalf("FirmwareInventory: %v", err)
		}
		for _, si := range inv {
			if si.ID == id {
				return si
			}
		}
		return &schemas.SoftwareInventory{}
	}
	version := func(id string) string { t.Helper(); return inventory(id).Version }
	if v, bios := version("BIOS_0"), b.Get(t, "/redfish/v1/Systems/0")["BiosVersion"]; v == "" || v != bios {
		t.Errorf("FirmwareInventory BIOS_0 %q, BiosVersion %v", v, bios)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// SimpleUpdate of the SSD, which activates at once.
	mon, err := us.SimpleUpdate(&schemas.UpdateServiceSimpleUpdateParameters{
		ImageURI: fw.URL + "/firmware/disk0-1.0.4.bin", TransferProtocol: schemas.HTTPTransferProtocolType,
		Targets: []string{"/redfish/v1/UpdateService/FirmwareInventory/Disk0_0"},
	})
	if err != nil || mon == nil {
		t.Fatalf("SimpleUpdate: %v, %v", mon, err)
	}
	resp, err := schemas.WaitForTaskMonitor(ctx, c, 100*time.Millisecond, mon, nil)
	if err != nil {
		t.Fatalf("task monitor %s: %v", mon.TaskMonitor, err)
	}
	schemas.DeferredCleanupHTTPResponse(resp)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("task monitor ended with %d", resp.StatusCode)
	}
	if v := version("Disk0_0"); v != "1.0.4" {
		t.Errorf("Disk0_0 %q after the update", v)
	}

	// A push update of the BIOS, activated by the next power-on; its
	// header gives its release date.
	file := filepath.Join(t.TempDir(), "bios-3.1.0.bin")
	if err := os.WriteFile(file, []byte("BMCD-FW component=bios version=3.1.0 date=2026-10-01\n\x7fBIOS"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err = c.PostMultipart(us.MultipartHTTPPushURI, map[string]io.Reader{
		"UpdateParameters": strings.NewReader(`{"Targets":["/redfish/v1/Systems/0"]}`),
		"UpdateFile":       f,
	})
	if err != nil {
		t.Fatalf("multipart push: %v", err)
	}
	schemas.DeferredCleanupHTTPResponse(resp)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" {
		t.Fatalf("multipart push: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = schemas.WaitForTaskMonitor(ctx, c, 100*time.Millisecond, &schemas.TaskMonitorInfo{TaskMonitor: resp.Header.Get("Location")}, nil)
	if err != nil {
		t.Fatalf("push task: %v", err)
	}
	schemas.DeferredCleanupHTTPResponse(resp)
	const bios310 = "SIM 3.1.0 (2026-10-01)"
	if v := version("Staged_BIOS_0"); v != bios310 {
		t.Errorf("staged BIOS %q", v)
	}
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "On"}})
	eventually(t, 20*time.Second, func() (bool, string) {
		v := b.Get(t, "/redfish/v1/Systems/0")["BiosVersion"]
		return v == bios310, fmt.Sprintf("BiosVersion %v", v)
	})
	if si := inventory("BIOS_0"); si.Version != bios310 || si.ReleaseDate != "2026-10-01T00:00:00Z" {
		t.Errorf("FirmwareInventory BIOS_0 %q released %q after the reset", si.Version, si.ReleaseDate)
	}
	gofishRemoteServerCertificates(t, c, us)
}

// gofishRemoteServerCertificates sets SimpleUpdate's TLS policy with
// gofish: VerifyRemoteServerCertificate through UpdateService.Update, a
// CA POSTed to RemoteServerCertificates (gofish has no call to create
// one) and read back through UpdateService.RemoteServerCertificates; an
// https image server issued by that CA is refused before and accepted
// after, and a self-signed one is refused.
func gofishRemoteServerCertificates(t *testing.T, c *gofish.APIClient, us *schemas.UpdateService) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ca := fetchtest.NewCA(t, "gofish firmware CA")
	caSigned := serveFirmwareTLS(t, ca.ServerCert(t))
	selfCert, _ := fetchtest.SelfSigned(t)
	self := serveFirmwareTLS(t, selfCert)
	// update runs a SimpleUpdate and returns how its task monitor ended:
	// 204, or the status and code of the Redfish error gofish returns.
	update := func(image string) (int, string) {
		t.Helper()
		mon, err := us.SimpleUpdate(&schemas.UpdateServiceSimpleUpdateParameters{
			ImageURI: image, Targets: []string{"/redfish/v1/UpdateService/FirmwareInventory/Disk0_0"}})
		if err != nil {
			t.Fatalf("SimpleUpdate %s: %v", image, err)
		}
		resp, err := schemas.WaitForTaskMonitor(ctx, c, 100*time.Millisecond, mon, nil)
		defer schemas.DeferredCleanupHTTPResponse(resp)
		var rfErr *schemas.Error
		switch {
		case errors.As(err, &rfErr):
			return rfErr.HTTPReturnedStatusCode, rfErr.Code
		case err != nil || resp == nil:
			t.Fatalf("task monitor %s: %v", mon.TaskMonitor, err)
		}
		return resp.StatusCode, ""
	}
	const refused = "Base.1.22.CouldNotEstablishConnection"

	if us.VerifyRemoteServerCertificate {
		t.Error("VerifyRemoteServerCertificate is true by default")
	}
	us.VerifyRemoteServerCertificate = true
	if err := us.Update(); err != nil {
		t.Fatalf("Update VerifyRemoteServerCertificate: %v", err)
	}
	if code, key := update(caSigned.URL + "/firmware/disk0-1.0.5.bin"); code != http.StatusBadRequest || key != refused {
		t.Errorf("verification on, no certificate: the task ended with %d %s", code, key)
	}
	var raw struct {
		RemoteServerCertificates struct {
			ID string `json:"@odata.id"`
		}
	}
	if err := json.Unmarshal(us.RawData, &raw); err != nil || raw.RemoteServerCertificates.ID == "" {
		t.Fatalf("no RemoteServerCertificates link (%v): %s", err, us.RawData)
	}
	resp, err := c.Post(raw.RemoteServerCertificates.ID, map[string]any{"CertificateString": ca.PEM, "CertificateType": "PEM"})
	if err != nil {
		t.Fatalf("POST %s: %v", raw.RemoteServerCertificates.ID, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d", raw.RemoteServerCertificates.ID, resp.StatusCode)
	}
	certs, err := us.RemoteServerCertificates()
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "gofish firmware CA" {
		t.Fatalf("RemoteServerCertificates: %v, %v", certs, err)
	}
	if code, key := update(caSigned.URL + "/firmware/disk0-1.0.5.bin"); code != http.StatusNoContent {
		t.Errorf("verification on, the CA trusted: the task ended with %d %s", code, key)
	}
	if code, key := update(self.URL + "/firmware/disk0-1.0.6.bin"); code != http.StatusBadRequest || key != refused {
		t.Errorf("verification on, a self-signed server: the task ended with %d %s", code, key)
	}
	if caSigned.hits.Load() != 1 || self.hits.Load() != 0 {
		t.Errorf("images sent by untrusted servers: CA-signed %d (want 1), self-signed %d (want 0)",
			caSigned.hits.Load(), self.hits.Load())
	}
	if resp, err = c.Delete(certs[0].ODataID); err != nil {
		t.Fatalf("DELETE %s: %v", certs[0].ODataID, err)
	}
	resp.Body.Close()
	us.VerifyRemoteServerCertificate = false
	if err := us.Update(); err != nil {
		t.Fatalf("Update VerifyRemoteServerCertificate: %v", err)
	}
}
