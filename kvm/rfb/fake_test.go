package rfb

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"image"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/certs"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/internal/kvmtest"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
	"github.com/bmcd/bmcd/kvm/video"
	"github.com/bmcd/bmcd/kvm/video/videotest"
)

// screen is picture n of a w x h console-like screen.
func screen(w, h, n int) *image.RGBA { return videotest.Screen(w, h, n) }

// memStore is an auth.Store in memory.
type memStore struct {
	mu sync.Mutex
	b  map[string]map[string][]byte
}

func (m *memStore) Get(bucket, key string, v any) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	raw, ok := m.b[bucket][key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func (m *memStore) Put(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b[bucket] == nil {
		m.b[bucket] = map[string][]byte{}
	}
	m.b[bucket][key] = raw
	return nil
}

func (m *memStore) Delete(bucket, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.b[bucket], key)
	return nil
}

func (m *memStore) List(bucket string, fn func(string, []byte) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.b[bucket] {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Test accounts and passwords.
const (
	adminUser, adminPass = "admin", "admin-pass-1"
	roUser, roPass       = "watcher", "watcher-pass-1"
	vncControl           = "secret12"
	vncViewOnly          = "looker12"
)

// env is a server over fakes, listening on 127.0.0.1.
type env struct {
	t        testing.TB
	display  *display
	pipeline *video.Pipeline
	kb       *kvmtest.Keyboard
	ptr      *kvmtest.Pointer
	hub      *input.Hub
	accounts *auth.Accounts
	srv      *Server
	addr     string
	tls      *tls.Config // the client's, trusting the server's certificate
}

// newEnv starts a server; opt adjusts its Options.
func newEnv(t testing.TB, opt func(*Options)) *env {
	t.Helper()
	e := &env{t: t, display: &display{}, kb: kvmtest.NewKeyboard(), ptr: kvmtest.NewPointer(true, false)}
	e.pipeline = video.New(e.display, video.Options{FPS: video.MaxFPS})
	e.hub = input.NewHub(e.kb, e.ptr)
	e.hub.SetTypeDelay(0)
	key := make([]byte, 32)
	rand.Read(key)
	var err error
	if e.accounts, err = auth.Open(&memStore{b: map[string]map[string][]byte{}}, key); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.Create(adminUser, adminPass, auth.RoleAdministrator, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.Create(roUser, roPass, auth.RoleReadOnly, true); err != nil {
		t.Fatal(err)
	}
	cert, err := certs.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	e.tls = &tls.Config{RootCAs: pool, ServerName: leaf.DNSNames[0]}
	o := Options{
		Name: "bmcd 0", Pipeline: e.pipeline, Hub: e.hub, Accounts: e.accounts,
		TLS:              &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Passwords:        func() Passwords { return Passwords{Control: vncControl, ViewOnly: vncViewOnly} },
		HandshakeTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
	}
	if opt != nil {
		opt(&o)
	}
	if e.srv, err = New(o); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); e.srv.ServeListener(l) }()
	t.Cleanup(func() {
		e.srv.Close()
		<-done
	})
	return e
}

// dial connects a client with VNC Authentication (control password)
// unless cfg says otherwise.
func (e *env) dial(cfg rfbtest.Config) *rfbtest.Client {
	e.t.Helper()
	if cfg.Security == 0 {
		cfg.Security, cfg.Password = SecVNC, vncControl
	}
	if cfg.Security == SecVeNCrypt && cfg.TLS == nil {
		cfg.TLS = e.tls
	}
	c, err := rfbtest.Dial(e.addr, cfg)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.Conn().SetDeadline(time.Now().Add(10 * time.Second))
	e.t.Cleanup(func() { c.Close() })
	return c
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// display is a hardware.Display whose frames carry dirty rectangles when
// shown with showDirty.
type display struct {
	mu       sync.Mutex
	frame    hardware.Frame
	watchers map[chan struct{}]bool
}

func (d *display) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	if d.watchers == nil {
		d.watchers = map[chan struct{}]bool{}
	}
	d.watchers[ch] = true
	d.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.watchers, ch)
			d.mu.Unlock()
		})
	}
}

func (d *display) Frame() hardware.Frame {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame
}

// show makes img the picture, changed everywhere.
func (d *display) show(img image.Image) uint64 { return d.set(img, nil) }

// showDirty makes img the picture, changed from the previous one in
// dirty only.
func (d *display) showDirty(img image.Image, dirty ...image.Rectangle) uint64 {
	return d.set(img, dirty)
}

func (d *display) noSignal() uint64 { return d.set(nil, nil) }

func (d *display) set(img image.Image, dirty []image.Rectangle) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := hardware.Frame{Seq: d.frame.Seq + 1, Image: img, Dirty: dirty, Time: time.Now()}
	if dirty != nil {
		f.DirtySince = d.frame.Seq
	}
	d.frame = f
	for ch := range d.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return f.Seq
}

func (m *memStore) DropBucket(bucket string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.b, bucket)
	return nil
}
