package redfish

import (
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/fetch"
)

// The UpdateService's RemoteServerCertificates (UpdateService v1_9_0): the
// certificates SimpleUpdate trusts for an https ImageURI when
// VerifyRemoteServerCertificate is true. It is the same kind of collection,
// served by the same code (certificateRoutes) and applied by the same rule
// (hardware.TrustPolicy) as a VirtualMedia slot's Certificates: these
// certificates only, never the host's system roots.

const remoteServerCertificatesPath = updateServicePath + "/RemoteServerCertificates"

func (u *updateService) remoteServerCertificateRoutes() {
	u.s.certificateRoutes(remoteServerCertificatesPath, certificateStore{
		path: func(*http.Request) (string, error) { return remoteServerCertificatesPath, nil },
		list: func(*http.Request) ([]hardware.Certificate, error) {
			return u.settings().RemoteServerCertificates, nil
		},
		add: func(_ *http.Request, pemText string) (hardware.Certificate, error) {
			var added hardware.Certificate
			err := u.change(func(st *updateSettings) error {
				certs, c, err := hardware.AddCertificate(st.RemoteServerCertificates, pemText)
				st.RemoteServerCertificates, added = certs, c
				return err
			})
			return added, err
		},
		remove: func(_ *http.Request, id string) error {
			return u.change(func(st *updateSettings) error {
				certs, err := hardware.RemoveCertificate(st.RemoteServerCertificates, id)
				st.RemoteServerCertificates = certs
				return err
			})
		},
		purpose: func(*http.Request) string { return "the image servers of SimpleUpdate (ImageURI)" },
		// DSP8011 gives Certificate resources ConfigureManager for writes.
		priv: auth.PrivConfigureManager,
	})
}

// tlsPolicy is how SimpleUpdate checks an https image server now.
func (st updateSettings) tlsPolicy() fetch.Policy {
	return hardware.TrustPolicy(st.VerifyRemoteServerCertificate, st.RemoteServerCertificates)
}
