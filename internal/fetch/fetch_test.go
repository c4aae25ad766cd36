package fetch_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/fetch"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

func hello(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/missing":
		http.NotFound(w, r)
	case "/gone":
		w.WriteHeader(http.StatusGone)
	case "/secret":
		w.WriteHeader(http.StatusUnauthorized)
	case "/forbidden":
		w.WriteHeader(http.StatusForbidden)
	case "/broken":
		w.WriteHeader(http.StatusInternalServerError)
	case "/range":
		_, _ = io.WriteString(w, r.Header.Get("Range"))
	default:
		_, _ = io.WriteString(w, "hello")
	}
}

// TestPolicy fetches from https servers with their own certificates under
// every policy.
func TestPolicy(t *testing.T) {
	ca := fetchtest.NewCA(t, "Image CA")
	other := fetchtest.NewCA(t, "Other CA")
	selfCert, selfPEM := fetchtest.SelfSigned(t)
	caSigned := fetchtest.NewTLSServer(t, http.HandlerFunc(hello), ca.ServerCert(t))
	self := fetchtest.NewTLSServer(t, http.HandlerFunc(hello), selfCert)
	// The CA-signed certificate names 127.0.0.1 and localhost, not
	// images.test (which loopbackOnly dials at 127.0.0.1).
	wrongName := strings.Replace(caSigned.URL, "127.0.0.1", "images.test", 1)
	plain := httptest.NewServer(http.HandlerFunc(hello))
	defer plain.Close()

	for _, tc := range []struct {
		name   string
		url    string
		policy fetch.Policy
		want   error // nil: success
	}{
		{"no verify, CA-signed", caSigned.URL, fetch.Policy{}, nil},
		{"no verify, self-signed", self.URL, fetch.Policy{}, nil},
		{"no verify ignores roots", self.URL, fetch.Policy{Roots: fetch.Pool(other.PEM)}, nil},
		{"verify, CA in roots", caSigned.URL, fetch.Policy{Verify: true, Roots: fetch.Pool(ca.PEM)}, nil},
		{"verify, CA among others", caSigned.URL, fetch.Policy{Verify: true, Roots: fetch.Pool(other.PEM, ca.PEM)}, nil},
		{"verify, self-signed certificate itself trusted", self.URL, fetch.Policy{Verify: true, Roots: fetch.Pool(selfPEM)}, nil},
		{"verify, wrong CA", caSigned.URL, fetch.Policy{Verify: true, Roots: fetch.Pool(other.PEM)}, fetch.ErrCertificate},
		{"verify, empty pool trusts nothing", caSigned.URL, fetch.Policy{Verify: true, Roots: fetch.Pool()}, fetch.ErrCertificate},
		{"verify, self-signed not trusted", self.URL, fetch.Policy{Verify: true, Roots: fetch.Pool(ca.PEM)}, fetch.ErrCertificate},
		{"verify, system roots do not know a test CA", caSigned.URL, fetch.Policy{Verify: true}, fetch.ErrCertificate},
		{"verify, host name not in the certificate", wrongName, fetch.Policy{Verify: true, Roots: fetch.Pool(ca.PEM)}, fetch.ErrCertificate},
		{"verify does not matter for http", plain.URL, fetch.Policy{Verify: true, Roots: fetch.Pool()}, nil},
		{"https to a plain http server", strings.Replace(plain.URL, "http:", "https:", 1), fetch.Policy{}, fetch.ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fetch.Fetcher{DialContext: loopbackOnly}
			resp, err := f.Get(context.Background(), tc.url+"/x.iso", tc.policy, nil)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
					t.Errorf("body %q", b)
				}
				return
			}
			if resp != nil {
				resp.Body.Close()
			}
			var fe *fetch.Error
			if !errors.As(err, &fe) || !errors.Is(err, tc.want) {
				t.Fatalf("err %v (%T), want a *fetch.Error of class %v", err, err, tc.want)
			}
			if fe.Status != 0 || fe.Err == nil {
				t.Errorf("Status %d, Err %v: want no status and a cause", fe.Status, fe.Err)
			}
			for _, c := range []error{fetch.ErrCertificate, fetch.ErrUnreachable, fetch.ErrNotFound} {
				if c != tc.want && errors.Is(err, c) {
					t.Errorf("err %v is also of class %v", err, c)
				}
			}
		})
	}
}

// TestErrors checks the HTTP status and transport failure classes.
func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/x.iso"
	ln.Close()
	f := &fetch.Fetcher{DialContext: loopbackOnly}
	for _, tc := range []struct {
		name   string
		url    string
		class  error
		status int
		text   string // in the message
	}{
		{"404", srv.URL + "/missing", fetch.ErrNotFound, 404, "HTTP status 404"},
		{"410", srv.URL + "/gone", fetch.ErrNotFound, 410, ""},
		{"401", srv.URL + "/secret", fetch.ErrUnauthorized, 401, ""},
		{"403", srv.URL + "/forbidden", fetch.ErrUnauthorized, 403, ""},
		{"500", srv.URL + "/broken", fetch.ErrStatus, 500, ""},
		{"refused", refused, fetch.ErrUnreachable, 0, "refused"},
		{"ftp", "ftp://127.0.0.1/x.iso", fetch.ErrUnsupported, 0, ""},
		{"relative", "/x.iso", fetch.ErrUnsupported, 0, ""},
		{"no host", "http:///x.iso", fetch.ErrUnsupported, 0, ""},
		{"unparsable", "http://[::1", fetch.ErrUnsupported, 0, ""},
		{"password redacted", strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1) + "/missing", fetch.ErrNotFound, 404, "user:xxxxx@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.Get(context.Background(), tc.url, fetch.Policy{}, nil)
			if err == nil {
				resp.Body.Close()
				t.Fatal("no error")
			}
			var fe *fetch.Error
			if !errors.As(err, &fe) || !errors.Is(err, tc.class) || fe.Status != tc.status || fe.URL != tc.url {
				t.Fatalf("err %#v, want class %v, status %d, URL %q", err, tc.class, tc.status, tc.url)
			}
			if !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("message %q: want %q in it and no password", err, tc.text)
			}
		})
	}
}

func TestGetSendsHeadersAndHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		hello(w, r)
	}))
	defer srv.Close()
	defer close(release)
	f := &fetch.Fetcher{DialContext: loopbackOnly}
	resp, err := f.Get(context.Background(), srv.URL+"/range", fetch.Policy{}, http.Header{"Range": {"bytes=0-9"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "bytes=0-9" {
		t.Errorf("server saw Range %q", b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = f.Get(ctx, srv.URL+"/slow", fetch.Policy{}, nil)
	if !errors.Is(err, fetch.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want ErrUnreachable and DeadlineExceeded", err)
	}
	// The Fetcher's own Timeout bounds the wait for the headers.
	short := &fetch.Fetcher{DialContext: loopbackOnly, Timeout: 50 * time.Millisecond}
	start := time.Now()
	_, err = short.Get(context.Background(), srv.URL+"/slow", fetch.Policy{}, nil)
	if !errors.Is(err, fetch.ErrUnreachable) || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %v, want ErrUnreachable soon", err, time.Since(start))
	}
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]error{200: nil, 206: nil, 301: fetch.ErrStatus, 404: fetch.ErrNotFound,
		410: fetch.ErrNotFound, 401: fetch.ErrUnauthorized, 403: fetch.ErrUnauthorized, 407: fetch.ErrUnauthorized,
		416: fetch.ErrStatus, 503: fetch.ErrStatus} {
		if got := fetch.StatusClass(status); got != want {
			t.Errorf("StatusClass(%d) = %v, want %v", status, got, want)
		}
	}
}

func loopbackOnly(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "images.test" {
		addr = strings.Replace(addr, host, "127.0.0.1", 1)
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, errors.New("test dialer: loopback only")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func TestTotalFromContentRange(t *testing.T) {
	for h, want := range map[string]int64{"bytes 0-1023/4096": 4096, "bytes 0-0/1": 1, "bytes 0-1023/*": -1, "": -1, "bytes 0-1/-5": -1, "garbage": -1} {
		if got := fetch.TotalFromContentRange(h); got != want {
			t.Errorf("TotalFromContentRange(%q) = %d, want %d", h, got, want)
		}
	}
}
