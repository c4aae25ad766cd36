package conformance

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestGofish drives bmcd with gofish, the Go Redfish client, the way a Go
// provisioning tool would: session login over HTTPS, inventory, boot
// override, power, virtual media, sensors, accounts, logout.
func TestGofish(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 2})
	img := serveImage(t)

	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(),
		Endpoint: b.URL,
		Username: b.User,
		Password: b.Password,
		Insecure: true, // self-signed certificate
	})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	ses, err := c.GetSession()
	if err != nil || ses.Token == "" || ses.ID == "" {
		t.Fatalf("gofish did not get a session (X-Auth-Token and Location): %+v, %v", ses, err)
	}
	svc := c.GetService()

	// The service root's links, as gofish follows them.
	if ts, err := svc.Tasks(); err != nil || ts == nil {
		t.Errorf("ServiceRoot Tasks (TaskService): %v, %v", ts, err)
	}
	if regs, err := svc.Registries(); err != nil || len(regs) == 0 {
		t.Errorf("Registries: %d, %v", len(regs), err)
	}
	ss, err := svc.SessionService()
	if err != nil {
		t.Fatalf("SessionService: %v", err)
	}
	sessions, err := ss.Sessions()
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	if !slices.ContainsFunc(sessions, func(s *schemas.Session) bool { return s.ODataID == ses.ID }) {
		t.Errorf("gofish's session %s is not among the %d listed", ses.ID, len(sessions))
	}

	// Systems and what provisioning reads from them.
	systems, err := svc.Systems()
	if err != nil {
		t.Fatalf("Systems: %v", err)
	}
	if len(systems) != 2 {
		t.Fatalf("%d systems, want 2", len(systems))
	}
	sys := systems[0]
	if sys.ID != "0" {
		sys = systems[1]
	}
	if sys.PowerState != schemas.OffPowerState {
		t.Errorf("PowerState %q, want Off", sys.PowerState)
	}
	if !uuidRE.MatchString(sys.UUID) {
		t.Errorf("UUID %q is not a canonical UUID", sys.UUID)
	}
	if sys.Boot.BootSourceOverrideEnabled != schemas.DisabledBootSourceOverrideEnabled {
		t.Errorf("BootSourceOverrideEnabled %q, want Disabled", sys.Boot.BootSourceOverrideEnabled)
	}
	if !slices.Contains(sys.Boot.AllowableBootSourceOverrideTargetValues, schemas.CdBootSource) {
		t.Errorf("Cd is not among the allowable boot targets %v", sys.Boot.AllowableBootSourceOverrideTargetValues)
	}
	nics, err := sys.EthernetInterfaces()
	if err != nil {
		t.Fatalf("EthernetInterfaces: %v", err)
	}
	if len(nics) == 0 {
		t.Fatal("no EthernetInterfaces: nothing to PXE-boot or register with")
	}
	for _, n := range nics {
		if _, err := net.ParseMAC(n.MACAddress); err != nil {
			t.Errorf("EthernetInterface %s: MACAddress %q: %v", n.ID, n.MACAddress, err)
		}
	}

	// One-time UEFI CD boot, then power on.
	if err := sys.SetBoot(&schemas.Boot{
		BootSourceOverrideTarget:  schemas.CdBootSource,
		BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled,
		BootSourceOverrideMode:    schemas.UEFIBootSourceOverrideMode,
	}); err != nil {
		t.Fatalf("SetBoot: %v", err)
	}
	sys = getSystem(t, c, sys.ODataID)
	if got := sys.Boot; got.BootSourceOverrideTarget != schemas.CdBootSource ||
		got.BootSourceOverrideEnabled != schemas.OnceBootSourceOverrideEnabled ||
		got.BootSourceOverrideMode != schemas.UEFIBootSourceOverrideMode {
		t.Fatalf("after SetBoot: Boot is %s/%s/%s, want Cd/Once/UEFI",
			got.BootSourceOverrideTarget, got.BootSourceOverrideEnabled, got.BootSourceOverrideMode)
	}
	types, err := sys.GetSupportedResetTypes()
	if err != nil || !slices.Contains(types, schemas.OnResetType) {
		t.Fatalf("supported reset types %v (%v): no On", types, err)
	}
	if task, err := sys.Reset(schemas.OnResetType); err != nil || task != nil {
		t.Fatalf("Reset On: task %v, err %v", task, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for sys.PowerState != schemas.OnPowerState {
		if time.Now().After(deadline) {
			t.Fatalf("PowerState still %q 15s after Reset On", sys.PowerState)
		}
		time.Sleep(50 * time.Millisecond)
		sys = getSystem(t, c, sys.ODataID)
	}
	if sys.Boot.BootSourceOverrideEnabled != schemas.DisabledBootSourceOverrideEnabled {
		t.Errorf("the one-time override was not consumed by the boot: Enabled %q", sys.Boot.BootSourceOverrideEnabled)
	}

	// The system's manager and its virtual media.
	managers, err := sys.ManagedBy()
	if err != nil || len(managers) != 1 {
		t.Fatalf("ManagedBy: %d managers, %v", len(managers), err)
	}
	mgr := managers[0]
	if mgr.ManagerType != schemas.BMCManagerType {
		t.Errorf("ManagerType %q, want BMC", mgr.ManagerType)
	}
	all, err := svc.Managers()
	if err != nil || len(all) != 2 {
		t.Errorf("Managers: %d, %v; want 2", len(all), err)
	}
	media, err := mgr.VirtualMedia()
	if err != nil {
		t.Fatalf("Manager VirtualMedia: %v", err)
	}
	cd := findMedia(media, schemas.CDVirtualMediaType)
	if cd == nil {
		t.Fatalf("no CD virtual media among %d devices", len(media))
	}
	if !cd.SupportsMediaInsert || !cd.SupportsMediaEject {
		t.Errorf("CD: InsertMedia %v, EjectMedia %v: want both actions", cd.SupportsMediaInsert, cd.SupportsMediaEject)
	}
	yes := true
	if task, err := cd.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{
		Image: img.URL, Inserted: &yes, WriteProtected: &yes,
	}); err != nil || task != nil {
		t.Fatalf("InsertMedia: task %v, err %v", task, err)
	}
	if img.Hits() == 0 {
		t.Error("InsertMedia succeeded without fetching the image")
	}
	cd = getMedia(t, c, cd.ODataID)
	if cd.Inserted == nil || !*cd.Inserted || cd.Image != img.URL || cd.ConnectedVia != schemas.URIConnectedVia {
		t.Errorf("after InsertMedia: Inserted %v, Image %q, ConnectedVia %q", deref(cd.Inserted), cd.Image, cd.ConnectedVia)
	}
	if cd.WriteProtected == nil || !*cd.WriteProtected {
		t.Errorf("after InsertMedia: WriteProtected %v, want true", deref(cd.WriteProtected))
	}
	// The system shows the same slots (ComputerSystem.VirtualMedia).
	sysMedia, err := sys.VirtualMedia()
	if err != nil {
		t.Fatalf("System VirtualMedia: %v", err)
	}
	if m := findMedia(sysMedia, schemas.CDVirtualMediaType); m == nil || m.Inserted == nil || !*m.Inserted || m.Image != img.URL {
		t.Errorf("the system's CD does not show the medium inserted through its manager: %+v", m)
	}
	if task, err := cd.EjectMedia(); err != nil || task != nil {
		t.Fatalf("EjectMedia: task %v, err %v", task, err)
	}
	if cd = getMedia(t, c, cd.ODataID); cd.Inserted != nil && *cd.Inserted {
		t.Errorf("after EjectMedia: still inserted (Image %q)", cd.Image)
	}
	gofishMediaCertificates(t, c, cd)

	// Chassis sensors, with the host on.
	chassis, err := sys.Chassis()
	if err != nil || len(chassis) != 1 {
		t.Fatalf("Chassis: %d, %v", len(chassis), err)
	}
	ch := chassis[0]
	sensors, err := ch.Sensors()
	if err != nil || len(sensors) == 0 {
		t.Fatalf("Sensors: %d, %v", len(sensors), err)
	}
	for _, s := range sensors {
		if s.Reading == nil {
			t.Errorf("sensor %s has no reading with the host on", s.ID)
		}
	}
	thermal, err := ch.Thermal()
	if err != nil {
		t.Fatalf("Thermal: %v", err)
	}
	if len(thermal.Temperatures) == 0 || len(thermal.Fans) == 0 {
		t.Errorf("Thermal: %d temperatures, %d fans", len(thermal.Temperatures), len(thermal.Fans))
	}
	for _, tm := range thermal.Temperatures {
		if tm.ReadingCelsius == nil {
			t.Errorf("temperature %s: no ReadingCelsius", tm.MemberID)
		}
	}
	for _, f := range thermal.Fans {
		if f.Reading == nil || *f.Reading <= 0 {
			t.Errorf("fan %s: Reading %v with the host on", f.MemberID, f.Reading)
		}
	}
	power, err := ch.Power()
	if err != nil {
		t.Fatalf("Power: %v", err)
	}
	if len(power.PowerControl) == 0 || power.PowerControl[0].PowerConsumedWatts == nil {
		t.Errorf("Power: no PowerControl reading: %+v", power.PowerControl)
	}

	// Accounts: create, modify with If-Match, a stale update refused, delete.
	as, err := svc.AccountService()
	if err != nil {
		t.Fatalf("AccountService: %v", err)
	}
	created, err := as.CreateAccount("gofish1", "Gofish-pass1", "Operator")
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if created.UserName != "gofish1" || created.RoleID != "Operator" || created.ODataID == "" {
		t.Fatalf("CreateAccount returned %+v", created)
	}
	acct, err := schemas.GetManagerAccount(c, created.ODataID)
	if err != nil {
		t.Fatalf("GetManagerAccount: %v", err)
	}
	stale, err := schemas.GetManagerAccount(c, created.ODataID)
	if err != nil {
		t.Fatal(err)
	}
	if acct.GetETag() == "" {
		t.Error("the account has no ETag: gofish cannot send If-Match")
	}
	acct.RoleID = "ReadOnly"
	acct.Enabled = false
	if err := acct.Update(); err != nil {
		t.Fatalf("ManagerAccount.Update: %v", err)
	}
	acct, err = schemas.GetManagerAccount(c, created.ODataID)
	if err != nil {
		t.Fatal(err)
	}
	if acct.RoleID != "ReadOnly" || acct.Enabled {
		t.Errorf("after Update: RoleId %q, Enabled %v; want ReadOnly, false", acct.RoleID, acct.Enabled)
	}
	stale.RoleID = "Administrator"
	err = stale.Update()
	var rerr *schemas.Error
	if !errors.As(err, &rerr) || rerr.HTTPReturnedStatusCode != http.StatusPreconditionFailed {
		t.Errorf("an Update with a stale ETag: %v; want 412 Precondition Failed", err)
	}
	resp, err := c.Delete(created.ODataID)
	if err != nil {
		t.Fatalf("DELETE account: %v", err)
	}
	resp.Body.Close()
	accounts, err := as.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if a.UserName == "gofish1" {
			t.Error("the deleted account is still listed")
		}
	}

	// Logout ends the session: its token no longer works.
	c.Logout()
	if _, err := c.GetSession(); err == nil {
		t.Error("gofish still has a session after Logout (DELETE of the session failed)")
	}
	tokenClient := &http.Client{Transport: b.client.Transport}
	req, _ := http.NewRequest(http.MethodGet, b.URL+"/redfish/v1/Systems", nil)
	req.Header.Set("X-Auth-Token", ses.Token)
	r, err := tokenClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the logged-out token still gets %d", r.StatusCode)
	}
}

func getSystem(t *testing.T, c *gofish.APIClient, uri string) *schemas.ComputerSystem {
	t.Helper()
	s, err := schemas.GetComputerSystem(c, uri)
	if err != nil {
		t.Fatalf("GetComputerSystem %s: %v", uri, err)
	}
	return s
}

// gofishMediaCertificates sets the CD's TLS policy with gofish:
// VerifyCertificate through VirtualMedia.Update, a certificate POSTed to
// the Certificates collection (gofish has no call to create one) and read
// back through VirtualMedia.Certificates, then both undone.
func gofishMediaCertificates(t *testing.T, c *gofish.APIClient, cd *schemas.VirtualMedia) {
	t.Helper()
	if cd.VerifyCertificate {
		t.Errorf("VerifyCertificate is true by default")
	}
	cd.VerifyCertificate = true
	if err := cd.Update(); err != nil {
		t.Fatalf("Update VerifyCertificate: %v", err)
	}
	if cd = getMedia(t, c, cd.ODataID); !cd.VerifyCertificate {
		t.Fatal("VerifyCertificate false after Update")
	}
	var raw struct {
		Certificates struct {
			ID string `json:"@odata.id"`
		}
	}
	if err := json.Unmarshal(cd.RawData, &raw); err != nil || raw.Certificates.ID == "" {
		t.Fatalf("no Certificates link (%v): %s", err, cd.RawData)
	}
	ca := fetchtest.NewCA(t, "gofish CA")
	resp, err := c.Post(raw.Certificates.ID, map[string]any{"CertificateString": ca.PEM, "CertificateType": "PEM"})
	if err != nil {
		t.Fatalf("POST %s: %v", raw.Certificates.ID, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") == "" {
		t.Fatalf("POST %s: %d, Location %q", raw.Certificates.ID, resp.StatusCode, resp.Header.Get("Location"))
	}
	certs, err := cd.Certificates()
	if err != nil || len(certs) != 1 {
		t.Fatalf("Certificates: %d, %v", len(certs), err)
	}
	if ct := certs[0]; ct.Subject.CommonName != "gofish CA" || ct.CertificateType != schemas.PEMCertificateType ||
		ct.CertificateString != ca.PEM || ct.Fingerprint == "" {
		t.Errorf("certificate: subject %q, type %q, fingerprint %q", ct.Subject.CommonName, ct.CertificateType, ct.Fingerprint)
	}
	if resp, err = c.Delete(certs[0].ODataID); err != nil {
		t.Fatalf("DELETE %s: %v", certs[0].ODataID, err)
	}
	resp.Body.Close()
	cd.VerifyCertificate = false
	if err := cd.Update(); err != nil {
		t.Fatalf("Update VerifyCertificate: %v", err)
	}
	if cd = getMedia(t, c, cd.ODataID); cd.VerifyCertificate {
		t.Error("VerifyCertificate still true")
	}
	if certs, err := cd.Certificates(); err != nil || len(certs) != 0 {
		t.Errorf("after DELETE: %d certificates, %v", len(certs), err)
	}
}

func getMedia(t *testing.T, c *gofish.APIClient, uri string) *schemas.VirtualMedia {
	t.Helper()
	m, err := schemas.GetVirtualMedia(c, uri)
	if err != nil {
		t.Fatalf("GetVirtualMedia %s: %v", uri, err)
	}
	return m
}

func findMedia(media []*schemas.VirtualMedia, typ schemas.VirtualMediaType) *schemas.VirtualMedia {
	for _, m := range media {
		if slices.Contains(m.MediaTypes, typ) {
			return m
		}
	}
	return nil
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
