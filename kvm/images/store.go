// Package images is bmcd's image store for virtual media: ISO and disk
// images uploaded to the BMC, kept under STATE_DIR/images/, listed,
// downloaded and deleted through a small HTTP API (Handler), and served
// read-only at capability URLs (MediaHandler) that a machine backend
// fetches like any other image URL, so Redfish VirtualMedia.InsertMedia
// and the console attach a stored image by its URL.
//
// On disk (all private to the store; nothing else reads these files):
//
//	images/.meta/<name>.json   one image: size, SHA-256, upload time, media
//	                           type, URL token, data file; its presence is
//	                           the image's existence (the commit point)
//	images/.data/<random>      the bytes of one image
//	images/.upload/<name>.part   an upload in progress or interrupted
//	images/.upload/<name>.state  its offset, total and SHA-256 state
//
// An upload is written to .upload/, fsynced, moved into .data/ under a new
// random name, and becomes visible when its .meta file is renamed into
// place (then the directory is fsynced): a failed, interrupted or crashed
// upload leaves no visible image, and replacing an image is atomic.
// Temporary files start with '.', which no image name does. Open removes
// what a crash left behind.
package images

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxSize is the largest image a store takes unless Options say
// otherwise: 16 GiB, more than a DVD image.
const DefaultMaxSize int64 = 16 << 30

// DefaultPendingTTL is how long an interrupted upload is kept for resuming.
const DefaultPendingTTL = 24 * time.Hour

// Media types guessed from an image's content.
const (
	// MediaISO9660 is an image with an ISO 9660 primary volume descriptor
	// ("CD001" at byte 32769, ECMA-119 §8.4): a CD or DVD image, hybrid
	// ISOs included.
	MediaISO9660 = "iso9660"
	// MediaRaw is anything else: a disk image for a USB stick.
	MediaRaw = "raw"
)

// Image is one stored image as the store lists it.
type Image struct {
	Name string `json:"name"`
	// Size in bytes.
	Size int64 `json:"size"`
	// SHA256 of the content, lower-case hex, computed while it streamed in.
	SHA256 string `json:"sha256"`
	// Uploaded is when the upload completed (UTC, whole seconds).
	Uploaded time.Time `json:"uploaded"`
	// MediaType is MediaISO9660 or MediaRaw.
	MediaType string `json:"mediaType"`
}

// meta is what .meta/<name>.json holds.
type meta struct {
	Image
	// Token is the image's capability: its URL path holds it, and only a
	// request naming both the token and the image reads it without
	// credentials. Random (128 bits), new with every upload.
	Token string `json:"token"`
	// Blob names the data file under .data/.
	Blob string `json:"blob"`
}

// Options configure a Store. The zero value is usable.
type Options struct {
	// MaxSize is the largest image in bytes; 0 means DefaultMaxSize.
	MaxSize int64
	// InUse reports whether a virtual media slot holds the image (inserted
	// or not); such an image is neither deleted nor replaced (ErrBusy).
	// nil: never. It is called with the store locked, so it must call no
	// Store method but NameOf.
	InUse func(name string) bool
	// PendingTTL is how long an interrupted upload is kept for resuming,
	// counted from its last byte; 0 means DefaultPendingTTL.
	PendingTTL time.Duration
	// Path is the URL path Handler is mounted at, with a trailing slash;
	// "" means "/images/".
	Path string
	// MediaPath is the URL path MediaHandler is mounted at, with a
	// trailing slash; "" means "/media/". An image's URL is
	// <origin><MediaPath><token>/<name>.
	MediaPath string
	// FreeSpace reports the bytes free for the store's directory (-1 when
	// unknown); nil asks the file system (statfs). Tests replace it.
	FreeSpace func() (int64, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log gets the errors the HTTP handlers answer 500 for; nil means
	// slog.Default().
	Log *slog.Logger
}

// Store is an image store in a directory. It is safe for concurrent use.
type Store struct {
	dir string
	o   Options

	mu        sync.Mutex
	images    map[string]meta
	uploading map[string]bool // names with an upload in progress
}

// Open opens (creating it if needed) the store in dir, normally
// STATE_DIR/images, and removes what an earlier crash left: temporary
// files, data no image names, images whose data is missing, and
// interrupted uploads older than the PendingTTL.
func Open(dir string, o Options) (*Store, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.PendingTTL <= 0 {
		o.PendingTTL = DefaultPendingTTL
	}
	if o.Path == "" {
		o.Path = "/images/"
	}
	if o.MediaPath == "" {
		o.MediaPath = "/media/"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.InUse == nil {
		o.InUse = func(string) bool { return false }
	}
	s := &Store{dir: dir, o: o, images: map[string]meta{}, uploading: map[string]bool{}}
	if o.FreeSpace == nil {
		s.o.FreeSpace = func() (int64, error) { return freeSpace(dir) }
	}
	for _, d := range []string{dir, s.metaDir(), s.dataDir(), s.uploadDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("image store %s: %w", dir, err)
	}
	s.sweepPending()
	return s, nil
}

func (s *Store) metaDir() string   { return filepath.Join(s.dir, ".meta") }
func (s *Store) dataDir() string   { return filepath.Join(s.dir, ".data") }
func (s *Store) uploadDir() string { return filepath.Join(s.dir, ".upload") }

func (s *Store) metaFile(name string) string { return filepath.Join(s.metaDir(), name+".json") }
func (s *Store) blobFile(blob string) string { return filepath.Join(s.dataDir(), blob) }

// load reads every image's metadata and removes leftovers.
func (s *Store) load() error {
	entries, err := os.ReadDir(s.metaDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(s.metaDir(), e.Name())
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || CheckName(name) != nil {
			_ = os.Remove(p) // a temporary file of a crashed commit
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var m meta
		if json.Unmarshal(raw, &m) != nil || m.Name != name || !isHex(m.Blob) || m.Token == "" {
			_ = os.Remove(p)
			continue
		}
		if fi, err := os.Stat(s.blobFile(m.Blob)); err != nil || fi.Size() != m.Size {
			_ = os.Remove(p) // its data is gone: nothing to serve
			continue
		}
		s.images[name] = m
	}
	used := map[string]bool{}
	for _, m := range s.images {
		used[m.Blob] = true
	}
	blobs, err := os.ReadDir(s.dataDir())
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if !used[b.Name()] {
			_ = os.RemoveAll(filepath.Join(s.dataDir(), b.Name()))
		}
	}
	return nil
}

// MaxSize is the largest image the store takes, in bytes.
func (s *Store) MaxSize() int64 { return s.o.MaxSize }

// FreeSpace is the free space for the store's directory in bytes; -1 when
// unknown.
func (s *Store) FreeSpace() int64 {
	n, err := s.o.FreeSpace()
	if err != nil {
		return -1
	}
	return n
}

// List returns every image, sorted by name.
func (s *Store) List() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Image, 0, len(s.images))
	for _, m := range s.images {
		out = append(out, m.Image)
	}
	slices.SortFunc(out, func(a, b Image) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns one image. Errors: ErrInvalid for a bad name, ErrNotFound.
func (s *Store) Get(name string) (Image, error) {
	m, err := s.meta(name)
	return m.Image, err
}

func (s *Store) meta(name string) (meta, error) {
	if err := CheckName(name); err != nil {
		return meta{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.images[name]
	if !ok {
		return meta{}, fmt.Errorf("image %q: %w", name, ErrNotFound)
	}
	return m, nil
}

// Open opens an image for reading; the caller closes the file. The file
// stays readable after the image is deleted or replaced. Errors:
// ErrInvalid, ErrNotFound.
func (s *Store) Open(name string) (*os.File, Image, error) {
	if err := CheckName(name); err != nil {
		return nil, Image{}, err
	}
	s.mu.Lock() // so that a replacement cannot remove the data in between
	defer s.mu.Unlock()
	m, ok := s.images[name]
	if !ok {
		return nil, Image{}, fmt.Errorf("image %q: %w", name, ErrNotFound)
	}
	f, err := os.Open(s.blobFile(m.Blob))
	if err != nil {
		return nil, Image{}, fmt.Errorf("image %q: %w", name, err)
	}
	return f, m.Image, nil
}

// Path is the file holding an image's bytes now, for a backend that
// presents local files (hardware.MassStorageImage). It changes when the
// image is replaced. Errors: ErrInvalid, ErrNotFound.
func (s *Store) Path(name string) (string, error) {
	m, err := s.meta(name)
	if err != nil {
		return "", err
	}
	return s.blobFile(m.Blob), nil
}

// openToken opens the image name if token is its capability token; a
// wrong token is ErrNotFound, as a missing image is.
func (s *Store) openToken(token, name string) (*os.File, meta, error) {
	if err := CheckName(name); err != nil {
		return nil, meta{}, fmt.Errorf("image %q: %w", name, ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.images[name]
	if !ok || subtle.ConstantTimeCompare([]byte(m.Token), []byte(token)) != 1 {
		return nil, meta{}, fmt.Errorf("image %q: %w", name, ErrNotFound)
	}
	f, err := os.Open(s.blobFile(m.Blob))
	if err != nil {
		return nil, meta{}, err
	}
	return f, m, nil
}

// URL is the address at which a backend reads the image without
// credentials: origin (scheme://host[:port] of bmcd as the backend reaches
// it, e.g. RequestOrigin of the request that asks) + MediaPath + token +
// "/" + name. Errors: ErrInvalid, ErrNotFound.
func (s *Store) URL(origin, name string) (string, error) {
	m, err := s.meta(name)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(origin, "/") + s.o.MediaPath + m.Token + "/" + name, nil
}

// NameOf returns the image an URL made by URL names, from its path alone
// (any host: bmcd has many names; the token is not checked, so an URL of
// an image since replaced still names it). It takes no lock: InUse may
// call it.
func (s *Store) NameOf(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.Path, s.o.MediaPath)
	if !ok {
		return "", false
	}
	token, name, ok := strings.Cut(rest, "/")
	if !ok || token == "" || CheckName(name) != nil {
		return "", false
	}
	return name, true
}

// Delete removes an image, and any interrupted upload of that name.
// Errors: ErrInvalid; ErrNotFound when there is neither; ErrBusy while
// InUse reports the image in a slot, or an upload of the name is in
// progress.
func (s *Store) Delete(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploading[name] {
		return fmt.Errorf("image %q: an upload is in progress: %w", name, ErrBusy)
	}
	m, ok := s.images[name]
	pending := s.removePending(name)
	if !ok {
		if pending {
			return nil
		}
		return fmt.Errorf("image %q: %w", name, ErrNotFound)
	}
	if s.o.InUse(name) {
		return fmt.Errorf("image %q is in a virtual media slot: %w", name, ErrBusy)
	}
	if err := os.Remove(s.metaFile(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %q: %w", name, err)
	}
	_ = syncDir(s.metaDir())
	delete(s.images, name)
	_ = os.Remove(s.blobFile(m.Blob))
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, fsynced, renamed into place, the directory fsynced.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, ".tmp-"+randomHex(8))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return s != "" && err == nil
}
