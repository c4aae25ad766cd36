package redfish

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

const cdCerts = sysCD + "/Certificates"

// isoHandler serves a small ISO 9660 image at any path.
func isoHandler() http.Handler {
	iso := make([]byte, 40*1024)
	copy(iso[32769:], "CD001")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "boot.iso", time.Time{}, bytes.NewReader(iso))
	})
}

// resolution is the Resolution of the first message of an error body.
func (r *resp) resolution() string {
	s, _ := at(r.obj(), "error", "@Message.ExtendedInfo", 0, "Resolution").(string)
	return s
}

// TestMediaVerifyCertificate inserts images from https servers with their
// own certificates: accepted by default, checked against the slot's
// Certificates once VerifyCertificate is true, through either path of
// the slot.
func TestMediaVerifyCertificate(t *testing.T) {
	e := newEnv(t)
	ca := fetchtest.NewCA(t, "Image CA")
	wrong := fetchtest.NewCA(t, "Wrong CA")
	selfCert, _ := fetchtest.SelfSigned(t)
	caSigned := fetchtest.NewTLSServer(t, isoHandler(), ca.ServerCert(t)).URL + "/boot.iso"
	self := fetchtest.NewTLSServer(t, isoHandler(), selfCert).URL + "/boot.iso"

	for _, p := range []string{mgrCD, sysCD} {
		v := e.get(p).obj()
		if v["VerifyCertificate"] != false || at(v, "Certificates", "@odata.id") != cdCerts {
			t.Fatalf("%s: VerifyCertificate %v, Certificates %v; want false and %s", p, v["VerifyCertificate"], v["Certificates"], cdCerts)
		}
	}
	insert := func(p, image string) *resp { return e.post(p+insertA, M{"Image": image}) }
	ejectCD := func() { e.post(sysCD+ejectA, M{}).want(http.StatusNoContent) }
	refused := func(r *resp, image string) {
		t.Helper()
		r.wantError(http.StatusBadRequest, "CouldNotEstablishConnection")
		if got := strings.Join(r.args(), "|"); got != image {
			t.Errorf("MessageArgs %q, want the image URL", got)
		}
		if res, want := r.resolution(), baseMessages["CouldNotEstablishConnection"].Resolution; res != want {
			t.Errorf("resolution %q, want the registry's %q", res, want)
		}
		if v := e.get(sysCD).obj(); v["Inserted"] != false || v["Image"] != nil {
			t.Errorf("a refused image left the slot %v", v)
		}
	}

	// Default: any certificate is accepted.
	insert(mgrCD, self).want(http.StatusNoContent)
	if v := e.get(sysCD).obj(); v["Image"] != self || v["TransferProtocolType"] != "HTTPS" {
		t.Errorf("after an https insert: %v", v)
	}
	ejectCD()

	// Verification on, through the Manager's path: the System's shows it.
	e.patch(mgrCD, M{"VerifyCertificate": true}).want(http.StatusNoContent)
	if v := e.get(sysCD).obj(); v["VerifyCertificate"] != true {
		t.Fatalf("VerifyCertificate after PATCH: %v", v["VerifyCertificate"])
	}
	if v := e.get("/redfish/v1/Managers/0/VirtualMedia/USB").obj(); v["VerifyCertificate"] != false {
		t.Errorf("USB took CD's VerifyCertificate")
	}
	refused(insert(sysCD, self), self)         // no certificate at all
	refused(insert(mgrCD, caSigned), caSigned) // the system roots do not count
	// PATCH Image is held to the same policy.
	refused(e.patch(sysCD, M{"Image": caSigned}), caSigned)

	w := e.post(cdCerts, M{"CertificateString": wrong.PEM, "CertificateType": "PEM"}).want(http.StatusCreated)
	refused(insert(mgrCD, caSigned), caSigned)
	e.post(cdCerts, M{"CertificateString": ca.PEM, "CertificateType": "PEM"}).want(http.StatusCreated)
	insert(mgrCD, caSigned).want(http.StatusNoContent)
	ejectCD()
	refused(insert(sysCD, self), self) // trusted CAs do not make a self-signed server trusted
	e.delete(w.Header.Get("Location")).want(http.StatusNoContent)
	insert(sysCD, caSigned).want(http.StatusNoContent)
	ejectCD()

	// A PATCH that sets VerifyCertificate with an image that fails undoes it.
	e.patch(sysCD, M{"VerifyCertificate": false}).want(http.StatusNoContent)
	refused(e.patch(mgrCD, M{"VerifyCertificate": true, "Image": self}), self)
	if v := e.get(mgrCD).obj(); v["VerifyCertificate"] != false {
		t.Errorf("a failed PATCH left VerifyCertificate %v", v["VerifyCertificate"])
	}
	// ... and applies to the image when both are given.
	e.patch(mgrCD, M{"VerifyCertificate": true, "Image": caSigned}).want(http.StatusNoContent)
	e.patch(mgrCD, M{"Image": nil, "VerifyCertificate": false}).want(http.StatusNoContent)
	if v := e.get(mgrCD).obj(); v["VerifyCertificate"] != false || v["Inserted"] != false {
		t.Errorf("after PATCH Image null, VerifyCertificate false: %v", v)
	}
	insert(sysCD, self).want(http.StatusNoContent)

	// The image password stays hidden, in errors too.
	ejectCD()
	e.patch(sysCD, M{"VerifyCertificate": true}).want(http.StatusNoContent)
	secret := strings.Replace(self, "https://", "https://user:s3cret@", 1)
	r := insert(mgrCD, secret)
	refused(r, strings.Replace(self, "https://", "https://user:xxxxx@", 1))
	if bytes.Contains(r.Body, []byte("s3cret")) {
		t.Errorf("the error shows the image password: %s", r.Body)
	}

	// Bad values and privileges.
	for _, tc := range []struct {
		body any
		code int
		key  string
		opt  reqOpt
	}{
		{M{"VerifyCertificate": "yes"}, 400, "PropertyValueTypeError", asAdmin()},
		{M{"VerifyCertificate": nil}, 400, "PropertyValueTypeError", asAdmin()},
		{M{"Certificates": M{}}, 400, "PropertyNotWritable", asAdmin()},
		{M{"VerifyCertificate": false}, 403, "InsufficientPrivilege", asOperator()},
		{M{"VerifyCertificate": false}, 403, "InsufficientPrivilege", asReader()},
	} {
		e.patch(mgrCD, tc.body, tc.opt).wantError(tc.code, tc.key)
	}
	if v := e.get(sysCD).obj(); v["VerifyCertificate"] != true {
		t.Errorf("rejected PATCHes changed VerifyCertificate to %v", v["VerifyCertificate"])
	}
}

func TestMediaCertificateCollection(t *testing.T) {
	e := newEnv(t)
	ca := fetchtest.NewCA(t, "Image CA")
	other := fetchtest.NewCA(t, "Other CA")

	coll := e.get(cdCerts).obj()
	if coll["@odata.type"] != "#CertificateCollection.CertificateCollection" || coll["Members@odata.count"] != float64(0) ||
		at(coll, "@Redfish.SupportedCertificates", 1) != "PEMchain" {
		t.Fatalf("empty collection: %v", coll)
	}
	r := e.post(cdCerts, M{"CertificateString": ca.PEM, "CertificateType": "PEM"}).want(http.StatusCreated)
	loc := r.Header.Get("Location")
	if loc != cdCerts+"/1" {
		t.Fatalf("Location %q", loc)
	}
	c := e.get(loc).obj()
	fp := regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)
	for k, want := range map[string]any{
		"@odata.type": "#Certificate.v1_11_0.Certificate", "@odata.id": loc, "Id": "1",
		"CertificateString": ca.PEM, "CertificateType": "PEM",
		"FingerprintHashAlgorithm": "TPM_ALG_SHA256", "SignatureAlgorithm": "ecdsa-with-SHA256",
		"ValidNotAfter": ca.Cert.NotAfter.UTC().Format(time.RFC3339),
	} {
		if c[k] != want {
			t.Errorf("%s = %v, want %v", k, c[k], want)
		}
	}
	if at(c, "Subject", "CommonName") != "Image CA" || at(c, "Issuer", "Organization") != "bmcd tests" ||
		!fp.MatchString(c["Fingerprint"].(string)) || !contains(anyStrings(c["KeyUsage"]), "KeyCertSign") {
		t.Errorf("certificate details: %v", c)
	}
	if p := r.obj(); p["Id"] != "1" || p["Fingerprint"] != c["Fingerprint"] {
		t.Errorf("201 body %v", p)
	}
	chain := e.post(cdCerts, M{"CertificateString": other.PEM + ca.PEM, "CertificateType": "PEMchain"}).want(http.StatusCreated)
	if v := chain.obj(); v["CertificateType"] != "PEMchain" || at(v, "Subject", "CommonName") != "Other CA" {
		t.Errorf("chain: %v", v)
	}
	if n := e.get(cdCerts).obj()["Members@odata.count"]; n != float64(2) {
		t.Errorf("%v members, want 2", n)
	}
	// The same collection for the Manager's view of the slot, none for
	// the USB slot.
	if at(e.get(mgrCD).obj(), "Certificates", "@odata.id") != cdCerts {
		t.Error("the Manager's CD does not link the collection")
	}
	if n := e.get("/redfish/v1/Systems/0/VirtualMedia/USB/Certificates").obj()["Members@odata.count"]; n != float64(0) {
		t.Errorf("USB has %v certificates", n)
	}

	const key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
		args []string
	}{
		{"garbage", M{"CertificateString": "not a certificate", "CertificateType": "PEM"}, 400, "PropertyValueFormatError",
			[]string{"not a certificate", "/CertificateString"}},
		{"private key", M{"CertificateString": key, "CertificateType": "PEM"}, 400, "PropertyValueFormatError",
			[]string{"-----BEGIN PRIVATE KEY----- ...", "/CertificateString"}},
		{"certificate and key", M{"CertificateString": ca.PEM + key, "CertificateType": "PEMchain"}, 400, "PropertyValueFormatError", nil},
		{"empty", M{"CertificateString": "", "CertificateType": "PEM"}, 400, "PropertyValueFormatError", nil},
		{"no string", M{"CertificateType": "PEM"}, 400, "CreateFailedMissingReqProperties", []string{"CertificateString"}},
		{"no type", M{"CertificateString": ca.PEM}, 400, "CreateFailedMissingReqProperties", []string{"CertificateType"}},
		{"PKCS12", M{"CertificateString": ca.PEM, "CertificateType": "PKCS12"}, 400, "PropertyValueNotInList",
			[]string{"PKCS12", "/CertificateType"}},
		{"number", M{"CertificateString": 7, "CertificateType": "PEM"}, 400, "PropertyValueTypeError", nil},
		{"read-only", M{"CertificateString": ca.PEM, "CertificateType": "PEM", "Id": "7"}, 400, "PropertyNotWritable", nil},
		{"unknown", M{"CertificateString": ca.PEM, "CertificateType": "PEM", "Bogus": 1}, 400, "PropertyUnknown", nil},
		{"empty body", M{}, 400, "EmptyJSON", nil},
		{"duplicate", M{"CertificateString": ca.PEM, "CertificateType": "PEM"}, 409, "ResourceAlreadyExists", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).post(cdCerts, tc.body).wantError(tc.code, tc.key)
			if tc.args != nil {
				if got := r.args(); strings.Join(got, "|") != strings.Join(tc.args, "|") {
					t.Errorf("MessageArgs %q, want %q", got, tc.args)
				}
			}
			if bytes.Contains(r.Body, []byte("SECRET")) {
				t.Errorf("the error echoes the private key: %s", r.Body)
			}
		})
	}
	// A private key is refused without echoing it; the Resolution is the
	// registry's (the reason is in the log).
	if res := e.post(cdCerts, M{"CertificateString": key, "CertificateType": "PEM"}).wantError(400, "PropertyValueFormatError").resolution(); res != baseMessages["PropertyValueFormatError"].Resolution {
		t.Errorf("resolution %q, want the registry's", res)
	}

	// Privileges: reading needs Login, changing ConfigureManager.
	e.get(loc, asReader()).want(http.StatusOK)
	e.post(cdCerts, M{"CertificateString": other.PEM, "CertificateType": "PEM"}, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.delete(loc, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")

	// Delete, then the member is gone.
	e.delete(loc).want(http.StatusNoContent)
	e.get(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	e.delete(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	e.patch(cdCerts+"/2", M{"CertificateString": ca.PEM}).wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
	for _, p := range []string{"/redfish/v1/Systems/0/VirtualMedia/Floppy/Certificates", "/redfish/v1/Systems/9/VirtualMedia/CD/Certificates",
		"/redfish/v1/Systems/0/VirtualMedia/Floppy/Certificates/1"} {
		e.get(p).wantError(http.StatusNotFound, "ResourceNotFound")
		if strings.HasSuffix(p, "/Certificates") {
			e.post(p, M{"CertificateString": ca.PEM, "CertificateType": "PEM"}).wantError(http.StatusNotFound, "ResourceNotFound")
		} else {
			e.delete(p).wantError(http.StatusNotFound, "ResourceNotFound")
		}
	}

	// The collection fills up.
	for i := 1; i < hardware.MaxMediaCertificates; i++ {
		e.post(cdCerts, M{"CertificateString": fetchtest.NewCA(t, "CA "+strconv.Itoa(i)).PEM, "CertificateType": "PEM"}).
			want(http.StatusCreated)
	}
	e.post(cdCerts, M{"CertificateString": ca.PEM, "CertificateType": "PEM"}).wantError(http.StatusBadRequest, "CreateLimitReachedForResource")
}

func anyStrings(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
