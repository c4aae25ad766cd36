package redfish

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/fetch"
)

// certificateStore backs one CertificateCollection of trusted
// certificates (a VirtualMedia slot's Certificates, the
// UpdateService's RemoteServerCertificates). Each function resolves the
// URL parameters of r itself, so an unknown parent answers 404.
type certificateStore struct {
	// path is the collection's URI.
	path   func(r *http.Request) (string, error)
	list   func(r *http.Request) ([]hardware.Certificate, error)
	add    func(r *http.Request, pemText string) (hardware.Certificate, error)
	remove func(r *http.Request, id string) error
	// what the certificates are trusted for, e.g. "virtual media images
	// of slot CD"; it goes into each Certificate's Description.
	purpose func(r *http.Request) string
	// priv is needed to POST and DELETE.
	priv auth.Privilege
}

// certificateRoutes serves pattern as a CertificateCollection (GET, POST
// a PEM certificate → 201 with Location) and pattern/{cert} as its
// Certificate v1_11_0 members (GET, DELETE), following DSP0268's
// Certificate schema: POST takes CertificateString and CertificateType
// (PEM or PEMchain), both required on create.
func (s *Service) certificateRoutes(pattern string, cs certificateStore) {
	s.handle(pattern, &resource{
		get: func(r *http.Request) (any, error) {
			path, err := cs.path(r)
			if err != nil {
				return nil, err
			}
			certs, err := cs.list(r)
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(certs))
			for i, c := range certs {
				ids[i] = path + "/" + c.ID
			}
			v := collection("CertificateCollection", "Certificate Collection", path, ids)
			v["@Redfish.SupportedCertificates"] = []string{"PEM", "PEMchain"}
			return v, nil
		},
		post:     func(w http.ResponseWriter, r *http.Request) error { return s.addCertificate(w, r, cs) },
		postPriv: cs.priv,
	})
	s.handle(pattern+"/{cert}", &resource{
		get: func(r *http.Request) (any, error) {
			path, c, err := findCertificate(r, cs)
			if err != nil {
				return nil, err
			}
			return renderCertificate(path, c, cs.purpose(r))
		},
		delete: func(r *http.Request) error {
			if _, _, err := findCertificate(r, cs); err != nil {
				return err
			}
			return certificateError(cs.remove(r, chi.URLParam(r, "cert")), r)
		},
		deletePriv: cs.priv,
	})
}

func findCertificate(r *http.Request, cs certificateStore) (string, hardware.Certificate, error) {
	path, err := cs.path(r)
	if err != nil {
		return "", hardware.Certificate{}, err
	}
	certs, err := cs.list(r)
	if err != nil {
		return "", hardware.Certificate{}, err
	}
	id := chi.URLParam(r, "cert")
	for _, c := range certs {
		if c.ID == id {
			return path + "/" + id, c, nil
		}
	}
	return "", hardware.Certificate{}, notFound("Certificate", id)
}

type certificateBody struct {
	CertificateString *string `json:"CertificateString"`
	CertificateType   *string `json:"CertificateType" validate:"omitempty,oneof=PEM PEMchain"`
}

// certificateReadOnly are the Certificate properties a client cannot set.
var certificateReadOnly = map[string]bool{"Id": true, "Name": true, "Description": true, "Issuer": true,
	"Subject": true, "ValidNotBefore": true, "ValidNotAfter": true, "KeyUsage": true, "SerialNumber": true,
	"Fingerprint": true, "FingerprintHashAlgorithm": true, "SignatureAlgorithm": true,
	"CertificateUsageTypes": true, "Status": true, "Links": true, "Actions": true,
	"UefiSignatureOwner": true, "SPDM": true, "Password": true}

func (s *Service) addCertificate(w http.ResponseWriter, r *http.Request, cs certificateStore) error {
	path, err := cs.path(r)
	if err != nil {
		return err
	}
	var b certificateBody
	if _, err := decodeBody(r, &b, bodyKind{readOnly: func(n string) bool { return certificateReadOnly[n] }}); err != nil {
		return err
	}
	missing := &apiError{status: http.StatusBadRequest}
	if b.CertificateString == nil {
		missing.msgs = append(missing.msgs, newMessage("CreateFailedMissingReqProperties", "CertificateString"))
	}
	if b.CertificateType == nil {
		missing.msgs = append(missing.msgs, newMessage("CreateFailedMissingReqProperties", "CertificateType"))
	}
	if len(missing.msgs) > 0 {
		return missing
	}
	c, err := cs.add(r, *b.CertificateString)
	if err != nil {
		return certificateError(err, r, *b.CertificateString)
	}
	v, err := renderCertificate(path+"/"+c.ID, c, cs.purpose(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", path+"/"+c.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// certificateError maps the errors of a certificate store; value is the
// CertificateString a POST sent.
func certificateError(err error, r *http.Request, value ...string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, hardware.ErrInvalid) && len(value) > 0:
		return withCause(apiErr(http.StatusBadRequest, "PropertyValueFormatError", certificateArg(value[0]), "/CertificateString"), err)
	case errors.Is(err, hardware.ErrExists):
		return withCause(apiErr(http.StatusConflict, "ResourceAlreadyExists", "Certificate", "CertificateString",
			certificateArg(value...)), err)
	case errors.Is(err, hardware.ErrFull):
		return withCause(apiErr(http.StatusBadRequest, "CreateLimitReachedForResource"),
			fmt.Errorf("at most %d certificates; delete one first", hardware.MaxTrustedCertificates))
	case errors.Is(err, hardware.ErrNotFound):
		return notFound("Certificate", chi.URLParam(r, "cert"))
	}
	return err
}

// certificateArg shows a posted CertificateString in a message: its first
// line only, so a private key pasted by mistake is not echoed back.
func certificateArg(value ...string) string {
	if len(value) == 0 {
		return ""
	}
	v := strings.TrimSpace(value[0])
	if i := strings.IndexAny(v, "\r\n"); i >= 0 {
		v = v[:i] + " ..."
	}
	if len(v) > 64 {
		v = v[:64] + " ..."
	}
	return v
}

// renderCertificate is a Certificate v1_11_0 resource: the stored PEM
// text and, from its first certificate, the fields DSP0268 describes.
func renderCertificate(path string, c hardware.Certificate, purpose string) (M, error) {
	certs, err := fetch.ParseCertificates(c.PEM)
	if err != nil {
		return nil, internalError(err)
	}
	x := certs[0]
	typ := "PEM"
	if len(certs) > 1 {
		typ = "PEMchain"
	}
	fp := sha256.Sum256(x.Raw)
	v := M{
		"@odata.type":              "#Certificate.v1_11_0.Certificate",
		"@odata.id":                path,
		"Id":                       c.ID,
		"Name":                     "Certificate " + c.ID,
		"Description":              "Trusted for " + purpose,
		"CertificateString":        c.PEM,
		"CertificateType":          typ,
		"Issuer":                   identifier(x.Issuer),
		"Subject":                  identifier(x.Subject),
		"ValidNotBefore":           x.NotBefore.UTC().Format(time.RFC3339),
		"ValidNotAfter":            x.NotAfter.UTC().Format(time.RFC3339),
		"KeyUsage":                 keyUsage(x),
		"SerialNumber":             colonHex(x.SerialNumber.Bytes()),
		"Fingerprint":              colonHex(fp[:]),
		"FingerprintHashAlgorithm": "TPM_ALG_SHA256",
		"SignatureAlgorithm":       signatureAlgorithm(x.SignatureAlgorithm),
	}
	return v, nil
}

var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// identifier is a Certificate Identifier: the RFC 5280 attributes
// Redfish names, those the name has.
func identifier(n pkix.Name) M {
	v := M{"DisplayString": n.String()}
	set := func(k string, vals []string) {
		if len(vals) > 0 && vals[0] != "" {
			v[k] = vals[0]
		}
	}
	set("CommonName", []string{n.CommonName})
	set("Organization", n.Organization)
	set("OrganizationalUnit", n.OrganizationalUnit)
	set("City", n.Locality)
	set("State", n.Province)
	set("Country", n.Country)
	for _, a := range n.Names {
		if s, ok := a.Value.(string); ok && a.Type.Equal(oidEmail) {
			v["Email"] = s
		}
	}
	return v
}

// keyUsage lists the key usage and extended key usage of x by their
// Redfish KeyUsage names.
func keyUsage(x *x509.Certificate) []string {
	out := []string{}
	for _, u := range []struct {
		bit  x509.KeyUsage
		name string
	}{
		{x509.KeyUsageDigitalSignature, "DigitalSignature"}, {x509.KeyUsageContentCommitment, "NonRepudiation"},
		{x509.KeyUsageKeyEncipherment, "KeyEncipherment"}, {x509.KeyUsageDataEncipherment, "DataEncipherment"},
		{x509.KeyUsageKeyAgreement, "KeyAgreement"}, {x509.KeyUsageCertSign, "KeyCertSign"},
		{x509.KeyUsageCRLSign, "CRLSigning"}, {x509.KeyUsageEncipherOnly, "EncipherOnly"},
		{x509.KeyUsageDecipherOnly, "DecipherOnly"},
	} {
		if x.KeyUsage&u.bit != 0 {
			out = append(out, u.name)
		}
	}
	ext := map[x509.ExtKeyUsage]string{
		x509.ExtKeyUsageServerAuth: "ServerAuthentication", x509.ExtKeyUsageClientAuth: "ClientAuthentication",
		x509.ExtKeyUsageCodeSigning: "CodeSigning", x509.ExtKeyUsageEmailProtection: "EmailProtection",
		x509.ExtKeyUsageTimeStamping: "Timestamping", x509.ExtKeyUsageOCSPSigning: "OCSPSigning",
	}
	for _, u := range x.ExtKeyUsage {
		if n, ok := ext[u]; ok {
			out = append(out, n)
		}
	}
	return out
}

// signatureAlgorithm names x's signature algorithm as RFC 3279/4055/5758
// (and OpenSSL, as DMTF's mockups) do.
func signatureAlgorithm(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA1WithRSA:
		return "sha1WithRSAEncryption"
	case x509.SHA256WithRSA:
		return "sha256WithRSAEncryption"
	case x509.SHA384WithRSA:
		return "sha384WithRSAEncryption"
	case x509.SHA512WithRSA:
		return "sha512WithRSAEncryption"
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return "rsassaPss"
	case x509.ECDSAWithSHA1:
		return "ecdsa-with-SHA1"
	case x509.ECDSAWithSHA256:
		return "ecdsa-with-SHA256"
	case x509.ECDSAWithSHA384:
		return "ecdsa-with-SHA384"
	case x509.ECDSAWithSHA512:
		return "ecdsa-with-SHA512"
	case x509.PureEd25519:
		return "ED25519"
	}
	return a.String()
}

// colonHex is b as upper-case hex pairs joined by colons ("5C:58:1E").
func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02X", c)
	}
	return s.String()
}
