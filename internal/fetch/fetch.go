// Package fetch reads remote files a BMC is pointed at (virtual media
// images, firmware update packages) over http and https. It applies the
// TLS policy a BMC keeps for such a server, Redfish's VerifyCertificate and
// Certificates collection (DSP0268 VirtualMedia v1_4_0, UpdateService
// v1_12_0), and classifies every failure, HTTP statuses included, into a
// few sentinel errors so that each protocol reports them the same way.
//
// It knows no protocol: callers map the sentinels to their own messages.
package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds connecting, the TLS handshake and the wait for the
// response headers when a Fetcher sets no Timeout.
const DefaultTimeout = 30 * time.Second

// Policy says how the certificate of an https server is checked.
type Policy struct {
	// Verify false accepts any certificate: the connection is encrypted
	// but the server is not authenticated. It is the default of real BMCs
	// (VerifyCertificate false), so servers with their own certificate work.
	Verify bool
	// Roots are the certificates trusted when Verify is true: the server's
	// chain must lead to one of them and name the URL's host, as
	// crypto/x509 verifies it. nil means the host's system roots; an empty
	// pool trusts nothing.
	Roots *x509.CertPool
}

// TLSConfig is the client TLS configuration that applies p.
func (p Policy) TLSConfig() *tls.Config {
	if !p.Verify {
		// Not verifying is the policy the user chose (VerifyCertificate false).
		return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see above
	}
	return &tls.Config{RootCAs: p.Roots}
}

// Fetcher makes GET requests under a Policy. The zero value is ready to
// use; a Fetcher is safe for concurrent use.
type Fetcher struct {
	// DialContext opens connections. nil dials directly (through the
	// environment's proxy, if any). Tests set it to keep requests on
	// loopback; a Fetcher with DialContext uses no proxy.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds connecting, the TLS handshake and the wait for the
	// response headers, each; 0 means DefaultTimeout. Reading the body is
	// bounded only by the request's context, so large files can stream.
	Timeout time.Duration
}

func (f *Fetcher) timeout() time.Duration {
	if f == nil || f.Timeout <= 0 {
		return DefaultTimeout
	}
	return f.Timeout
}

// Client returns an HTTP client that applies p to https servers,
// redirects included. It keeps no idle connections, so it needs no
// cleanup.
func (f *Fetcher) Client(p Policy) *http.Client {
	t := f.timeout()
	tr := &http.Transport{
		TLSClientConfig:       p.TLSConfig(),
		TLSHandshakeTimeout:   t,
		ResponseHeaderTimeout: t,
		DisableKeepAlives:     true,
	}
	if f != nil && f.DialContext != nil {
		tr.DialContext = f.DialContext
	} else {
		tr.Proxy = http.ProxyFromEnvironment
		tr.DialContext = (&net.Dialer{Timeout: t}).DialContext
	}
	return &http.Client{Transport: tr}
}

// Get requests rawURL (http or https) with the extra header h (may be
// nil) and returns the response when its status is 2xx; the caller closes
// its body. Every failure is a *Error: errors.Is tells its class
// (ErrUnsupported, ErrUnreachable, ErrCertificate, ErrNotFound,
// ErrUnauthorized, ErrStatus), and context errors stay reachable.
func (f *Fetcher) Get(ctx context.Context, rawURL string, p Policy, h http.Header) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{URL: rawURL, Err: fmt.Errorf("only absolute http and https URLs can be fetched: %w", ErrUnsupported)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &Error{URL: rawURL, Err: fmt.Errorf("%v: %w", err, ErrUnsupported)}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := f.Client(p).Do(req)
	if err != nil {
		var ue *url.Error // its text repeats the URL; keep the cause
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{URL: rawURL, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		return nil, &Error{URL: rawURL, Status: resp.StatusCode}
	}
	return resp, nil
}

// The classes of failure. An *Error wraps exactly one of them.
var (
	// ErrUnsupported: the URL is not an absolute http or https URL.
	ErrUnsupported = errors.New("unsupported URL")
	// ErrUnreachable: no HTTP answer came back (name resolution, refused
	// or reset connection, timeout, a TLS handshake that failed for a
	// reason other than the certificate).
	ErrUnreachable = errors.New("server unreachable")
	// ErrCertificate: the https server's certificate is not trusted under
	// the Policy (unknown authority, wrong host name, expired).
	ErrCertificate = errors.New("server certificate not trusted")
	// ErrNotFound: HTTP 404 or 410.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: HTTP 401, 403 or 407.
	ErrUnauthorized = errors.New("access denied")
	// ErrStatus: any other HTTP status outside 2xx.
	ErrStatus = errors.New("unexpected HTTP status")
)

// StatusClass maps an HTTP status to its class; nil for 2xx. Backends
// that fetch by other means (a hypervisor's own HTTP client) use it to
// report a status as this package does.
func StatusClass(status int) error {
	switch {
	case status >= 200 && status <= 299:
		return nil
	case status == http.StatusNotFound || status == http.StatusGone:
		return ErrNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusProxyAuthRequired:
		return ErrUnauthorized
	}
	return ErrStatus
}

// Error is a failed fetch.
type Error struct {
	URL    string // as requested; Error() hides its password
	Status int    // the HTTP status, 0 when no HTTP answer came back
	Err    error  // the cause when Status is 0
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: HTTP status %d", RedactURL(e.URL), e.Status)
	}
	return fmt.Sprintf("%s: %v", RedactURL(e.URL), e.Err)
}

// Unwrap gives the class of the failure and its cause, so errors.Is
// answers both "which class" and "was it a timeout".
func (e *Error) Unwrap() []error {
	switch {
	case e.Status != 0:
		if e.Err != nil {
			return []error{StatusClass(e.Status), e.Err}
		}
		return []error{StatusClass(e.Status)}
	case e.Err == nil:
		return []error{ErrUnreachable}
	case errors.Is(e.Err, ErrUnsupported):
		return []error{e.Err}
	case isCertificateError(e.Err):
		return []error{ErrCertificate, e.Err}
	}
	return []error{ErrUnreachable, e.Err}
}

func isCertificateError(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
	)
	return errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// RedactURL hides the password of a URL's user information, so URLs can
// be shown and logged; text that is not a URL is returned as is.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// TotalFromContentRange is the complete length a Content-Range header
// gives ("bytes 0-1023/4096": 4096, RFC 9110 §14.4); -1 when it is
// unknown ("*") or the header is malformed.
func TotalFromContentRange(h string) int64 {
	i := strings.LastIndexByte(h, '/')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(h[i+1:], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}
