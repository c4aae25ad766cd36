package redfish

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

const updateCerts = "/redfish/v1/UpdateService/RemoteServerCertificates"

// firmwareHandler serves a firmware image at any path, counting them.
func firmwareHandler(served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = w.Write([]byte{0x7f, 'F', 'W', 0, 1, 2})
	})
}

// TestRemoteServerCertificates: SimpleUpdate from https image servers
// with their own certificates follows the rule VirtualMedia follows:
// verification off accepts any certificate; on, the server must chain to
// a certificate in RemoteServerCertificates, and without one every https
// server is refused.
func TestRemoteServerCertificates(t *testing.T) {
	e := newEnv(t)
	ca := fetchtest.NewCA(t, "Firmware CA")
	selfCert, _ := fetchtest.SelfSigned(t)
	var served atomic.Int64
	self := fetchtest.NewTLSServer(t, firmwareHandler(&served), selfCert).URL + "/bios-2.5.0.bin"
	caSigned := fetchtest.NewTLSServer(t, firmwareHandler(&served), ca.ServerCert(t)).URL + "/bios-2.6.0.bin"
	update := func(image string) (*resp, map[string]any) {
		t.Helper()
		return e.runTask(e.post(updateAction, M{"ImageURI": image, "Targets": []string{fwInventory + "/BIOS_0"}}))
	}
	// refused: the TLS handshake fails, so no image is sent; the task
	// says TransferFailed and the monitor CouldNotEstablishConnection with
	// the URI (the certificate error is the cause, in bmcd's log).
	refused := func(image string) {
		t.Helper()
		before := served.Load()
		mon, task := update(image)
		mon.wantError(http.StatusBadRequest, "CouldNotEstablishConnection")
		if got := strings.Join(mon.args(), "|"); got != image {
			t.Errorf("MessageArgs %q, want the image URL", got)
		}
		if ids := taskMessageIDs(t, task); !hasAll(ids, updateMessagePrefix+"TransferFailed") {
			t.Errorf("task messages %v", ids)
		}
		if served.Load() != before {
			t.Errorf("an untrusted server sent its image")
		}
	}

	us := e.get(updateServicePath).obj()
	if us["VerifyRemoteServerCertificate"] != false || at(us, "RemoteServerCertificates", "@odata.id") != updateCerts {
		t.Fatalf("UpdateService %v", us)
	}
	coll := e.get(updateCerts).obj()
	if coll["@odata.type"] != "#CertificateCollection.CertificateCollection" || coll["Members@odata.count"] != float64(0) {
		t.Fatalf("collection %v", coll)
	}

	// Default: a self-signed server is accepted.
	mon, _ := update(self)
	mon.want(http.StatusNoContent)

	// On, with no certificate: every https server is refused; the host's
	// system roots are not consulted.
	e.patch(updateServicePath, M{"VerifyRemoteServerCertificate": true}).want(http.StatusNoContent)
	refused(caSigned)
	refused(self)

	// On, with the CA posted: its servers are accepted, others not.
	r := e.post(updateCerts, M{"CertificateString": ca.PEM, "CertificateType": "PEM"}).want(http.StatusCreated)
	loc := r.Header.Get("Location")
	if loc != updateCerts+"/1" {
		t.Fatalf("Location %q", loc)
	}
	cert := e.get(loc).obj()
	if at(cert, "Subject", "CommonName") != "Firmware CA" || cert["CertificateType"] != "PEM" ||
		!strings.Contains(cert["Description"].(string), "SimpleUpdate") {
		t.Errorf("certificate %v", cert)
	}
	mon, _ = update(caSigned)
	mon.want(http.StatusNoContent)
	if v := e.get(fwInventory + "/Staged_BIOS_0").obj()["Version"]; !isSimBios(v, "2.6.0") {
		t.Errorf("Staged_BIOS_0 %v", v)
	}
	refused(self)

	// The same errors as any certificate collection.
	for _, c := range []struct {
		body   M
		status int
		key    string
		opt    reqOpt
	}{
		{M{"CertificateString": "not a certificate", "CertificateType": "PEM"}, 400, "PropertyValueFormatError", asAdmin()},
		{M{"CertificateString": ca.PEM, "CertificateType": "PKCS7"}, 400, "PropertyValueNotInList", asAdmin()},
		{M{"CertificateType": "PEM"}, 400, "CreateFailedMissingReqProperties", asAdmin()},
		{M{"CertificateString": ca.PEM, "CertificateType": "PEM"}, 409, "ResourceAlreadyExists", asAdmin()},
		{M{"CertificateString": fetchtest.NewCA(t, "Other").PEM, "CertificateType": "PEM"}, 403, "InsufficientPrivilege", asOperator()},
		{M{"CertificateString": fetchtest.NewCA(t, "Other").PEM, "CertificateType": "PEM"}, 403, "InsufficientPrivilege", asReader()},
	} {
		e.post(updateCerts, c.body, c.opt).wantError(c.status, c.key)
	}
	e.patch(updateServicePath, M{"RemoteServerCertificates": M{"@odata.id": updateCerts}}).
		wantError(http.StatusBadRequest, "PropertyNotWritable")
	if n := e.get(updateCerts).obj()["Members@odata.count"]; n != float64(1) {
		t.Errorf("refused POSTs left %v certificates", n)
	}

	// Kept across a restart of the service.
	svc := New(Config{Machines: []*hardware.Machine{e.machines["0"]}, Accounts: e.accounts, Store: e.db, Version: "test"})
	defer svc.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, updateCerts+"/1", nil)
	req.SetBasicAuth(adminUser, adminPass)
	svc.ServeHTTP(rec, req)
	var kept map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &kept); err != nil || rec.Code != http.StatusOK || kept["CertificateString"] != cert["CertificateString"] {
		t.Errorf("after a restart: %d %v %s", rec.Code, err, rec.Body)
	}

	// Deleted, the CA is no longer trusted.
	e.delete(loc, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.delete(loc).want(http.StatusNoContent)
	e.delete(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	refused(caSigned)
}
