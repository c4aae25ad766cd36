package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Upload is what one request brings of an image: all of it, or one piece
// of a resumable upload.
type Upload struct {
	Name string
	Body io.Reader
	// Start is the offset of Body's first byte in the image: 0 begins an
	// upload (dropping any interrupted one of the name); otherwise it
	// must equal the offset the interrupted upload reached (else an
	// *OffsetError) and Total must be the same.
	Start int64
	// Length is how many bytes Body holds; -1 when unknown (up to Total,
	// or to the end of Body when Total is unknown too).
	Length int64
	// Total is the image's size in bytes; -1 when unknown, only for an
	// upload in one piece (Start 0), which then cannot be resumed.
	Total int64
	// SizeHint bounds the image's size when Total is unknown (a
	// multipart body's Content-Length), for the free space check; 0 for
	// none.
	SizeHint int64
}

// Progress is where an upload stands after Put.
type Progress struct {
	// Offset is how many bytes of the image are stored; the next piece
	// starts there.
	Offset int64
	// Total is the image's size; -1 when unknown.
	Total int64
	// Done: the image is complete and stored; Image describes it.
	Done  bool
	Image Image
	// Replaced: Done replaced an image of the same name.
	Replaced bool
}

// OffsetError is a piece that does not continue an upload: Start is not
// where the interrupted upload of the name stands (Offset; 0 when there is
// none), or its Total is not that upload's (Want). Tell it with
// errors.As; the HTTP handler answers 409 with the Upload-Offset header.
type OffsetError struct {
	Name          string
	Start, Offset int64
	Total, Want   int64 // the piece's total and the upload's (0 when none)
}

func (e *OffsetError) Error() string {
	if e.Want != 0 && e.Total != e.Want {
		return fmt.Sprintf("upload of %q has a total of %d bytes, not %d", e.Name, e.Want, e.Total)
	}
	return fmt.Sprintf("upload of %q stands at byte %d, not %d", e.Name, e.Offset, e.Start)
}

// pendingState is what .upload/<name>.state holds.
type pendingState struct {
	Total  int64  `json:"total"`
	Offset int64  `json:"offset"`
	Hash   []byte `json:"hash"` // the SHA-256 state (encoding.BinaryMarshaler) at Offset
	// Updated is when the last byte came, for PendingTTL.
	Updated time.Time `json:"updated"`
}

func (s *Store) partFile(name string) string  { return filepath.Join(s.uploadDir(), name+".part") }
func (s *Store) stateFile(name string) string { return filepath.Join(s.uploadDir(), name+".state") }

// Pending reports an interrupted upload of name: the bytes stored and the
// image's total. ok is false when there is none (or an upload of the name
// is in progress, whose offset is moving).
func (s *Store) Pending(name string) (offset, total int64, ok bool) {
	if CheckName(name) != nil {
		return 0, 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploading[name] {
		return 0, 0, false
	}
	st, err := s.readState(name)
	if err != nil {
		return 0, 0, false
	}
	return st.Offset, st.Total, true
}

func (s *Store) readState(name string) (pendingState, error) {
	var st pendingState
	raw, err := os.ReadFile(s.stateFile(name))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Total <= 0 || st.Offset < 0 || st.Offset > st.Total {
		return st, fmt.Errorf("bad upload state of %q", name)
	}
	return st, nil
}

// removePending removes the files of an interrupted upload of name and
// reports whether there were any.
func (s *Store) removePending(name string) bool {
	a := os.Remove(s.stateFile(name))
	b := os.Remove(s.partFile(name))
	return a == nil || b == nil
}

// sweepPending removes interrupted uploads older than PendingTTL, and
// files of uploads that lost their other half.
func (s *Store) sweepPending() {
	entries, err := os.ReadDir(s.uploadDir())
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.o.Now().Add(-s.o.PendingTTL)
	for _, e := range entries {
		n := e.Name()
		name, isState := strings.CutSuffix(n, ".state")
		if !isState {
			name, _ = strings.CutSuffix(n, ".part")
		}
		if CheckName(name) != nil || (!strings.HasSuffix(n, ".state") && !strings.HasSuffix(n, ".part")) {
			_ = os.Remove(filepath.Join(s.uploadDir(), n))
			continue
		}
		if s.uploading[name] {
			continue
		}
		st, err := s.readState(name)
		_, perr := os.Stat(s.partFile(name))
		if err != nil || perr != nil || st.Updated.Before(cutoff) {
			s.removePending(name)
		}
	}
}

// Put stores what u brings. A whole image, or the piece that completes
// one, is checked and published atomically (Progress.Done); a piece that
// leaves the image incomplete is kept for the next (Progress.Offset). The
// SHA-256 is computed as the bytes stream to disk; nothing is held in
// memory.
//
// Errors: ErrInvalid (name, an empty image, inconsistent offsets, a body
// longer than Length); ErrTooLarge (Total, or the bytes of an image of
// unknown size, over MaxSize); ErrNoSpace (less free space than the bytes
// still to come, or the disk filled up); ErrBusy (another upload of the
// name is in progress, or the image is in a slot); *OffsetError; and
// ErrIncomplete when Body fails or ends early: the bytes received are
// kept for resuming when Total is known (Progress.Offset says how many),
// else dropped. Nothing of a failed upload becomes visible.
func (s *Store) Put(ctx context.Context, u Upload) (Progress, error) {
	if err := s.checkUpload(u); err != nil {
		return Progress{}, err
	}
	name := u.Name
	s.mu.Lock()
	switch {
	case s.uploading[name]:
		s.mu.Unlock()
		return Progress{}, fmt.Errorf("image %q: another upload is in progress: %w", name, ErrBusy)
	case s.o.InUse(name):
		s.mu.Unlock()
		return Progress{}, fmt.Errorf("image %q is in a virtual media slot and cannot be replaced: %w", name, ErrBusy)
	}
	s.uploading[name] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.uploading, name)
		s.mu.Unlock()
	}()

	f, h, err := s.openPart(u)
	if err != nil {
		return Progress{}, err
	}
	defer f.Close()
	p := Progress{Offset: u.Start, Total: u.Total}

	limit := u.Length
	switch {
	case limit >= 0:
	case u.Total > 0:
		limit = u.Total - u.Start
	default:
		limit = s.o.MaxSize + 1 // one more shows the image is too large
	}
	w := &hashWriter{f: f, h: h}
	n, err := copyContext(ctx, w, io.LimitReader(u.Body, limit))
	p.Offset += n
	switch {
	case w.err != nil: // the disk
		s.removePending(name)
		if errors.Is(w.err, syscall.ENOSPC) {
			return Progress{}, fmt.Errorf("image %q: the disk filled up after %d bytes: %w", name, p.Offset, ErrNoSpace)
		}
		return Progress{}, fmt.Errorf("image %q: %w", name, w.err)
	case u.Total < 0 && n > s.o.MaxSize:
		s.removePending(name)
		return Progress{}, fmt.Errorf("image %q is over %d bytes: %w", name, s.o.MaxSize, ErrTooLarge)
	case err != nil || (u.Length >= 0 && n < u.Length) || (u.Total > 0 && u.Length < 0 && p.Offset < u.Total):
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return s.interrupted(name, f, h, p, err)
	}
	if extra, _ := u.Body.Read(make([]byte, 1)); extra > 0 {
		// The piece declared fewer bytes than it brought: keep the upload
		// where it stood before it.
		if u.Start == 0 {
			s.removePending(name)
		}
		return Progress{}, fmt.Errorf("image %q: the body is longer than the %d bytes declared: %w", name, limit, ErrInvalid)
	}
	if u.Total < 0 {
		p.Total = p.Offset
		if p.Total == 0 {
			s.removePending(name)
			return Progress{}, fmt.Errorf("image %q is empty: %w", name, ErrInvalid)
		}
	}
	if p.Offset < p.Total {
		if err := s.saveState(name, f, h, p); err != nil {
			return Progress{}, err
		}
		return p, nil
	}
	return s.commit(name, f, h, p)
}

func (s *Store) checkUpload(u Upload) error {
	if err := CheckName(u.Name); err != nil {
		return err
	}
	switch {
	case u.Total == 0:
		return fmt.Errorf("image %q is empty: %w", u.Name, ErrInvalid)
	case u.Total < -1 || u.Start < 0 || u.Length < -1:
		return fmt.Errorf("image %q: negative offsets: %w", u.Name, ErrInvalid)
	case u.Total == -1 && u.Start != 0:
		return fmt.Errorf("image %q: a piece of an upload needs the image's total size: %w", u.Name, ErrInvalid)
	case u.Total > 0 && (u.Start >= u.Total || (u.Length >= 0 && u.Start+u.Length > u.Total)):
		return fmt.Errorf("image %q: bytes %d+%d are beyond its total of %d: %w", u.Name, u.Start, u.Length, u.Total, ErrInvalid)
	case u.Total > s.o.MaxSize:
		return fmt.Errorf("image %q: %d bytes are over the limit of %d: %w", u.Name, u.Total, s.o.MaxSize, ErrTooLarge)
	}
	return nil
}

// openPart opens the upload's part file where u starts: a new one for
// Start 0, else the interrupted one, truncated to the offset its state
// records, with the hash restored. The disk must have room for what is
// still to come.
func (s *Store) openPart(u Upload) (*os.File, hash.Hash, error) {
	name := u.Name
	h := sha256.New()
	need := u.SizeHint
	if u.Total > 0 {
		need = u.Total - u.Start
	}
	if u.Start == 0 {
		s.removePending(name)
		if err := s.checkSpace(name, need); err != nil {
			return nil, nil, err
		}
		f, err := os.OpenFile(s.partFile(name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("image %q: %w", name, err)
		}
		return f, h, nil
	}
	st, err := s.readState(name)
	if err != nil {
		return nil, nil, &OffsetError{Name: name, Start: u.Start, Total: u.Total}
	}
	if st.Total != u.Total || st.Offset != u.Start {
		return nil, nil, &OffsetError{Name: name, Start: u.Start, Offset: st.Offset, Total: u.Total, Want: st.Total}
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
		s.removePending(name)
		return nil, nil, &OffsetError{Name: name, Start: u.Start, Total: u.Total}
	}
	if err := s.checkSpace(name, need); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(s.partFile(name), os.O_RDWR, 0o600)
	if err == nil {
		err = f.Truncate(st.Offset)
		if err == nil {
			_, err = f.Seek(st.Offset, io.SeekStart)
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.removePending(name)
		return nil, nil, &OffsetError{Name: name, Start: u.Start, Total: u.Total}
	}
	return f, h, nil
}

func (s *Store) checkSpace(name string, need int64) error {
	if need <= 0 {
		return nil
	}
	free, err := s.o.FreeSpace()
	if err != nil || free < 0 {
		return nil // unknown: the writes will tell
	}
	if free < need {
		return fmt.Errorf("image %q: %d bytes to store, %d free: %w", name, need, free, ErrNoSpace)
	}
	return nil
}

// interrupted keeps what a failed body brought, for resuming, when the
// image's total is known; otherwise it drops the upload.
func (s *Store) interrupted(name string, f *os.File, h hash.Hash, p Progress, cause error) (Progress, error) {
	if p.Total < 0 {
		s.removePending(name)
		return Progress{}, fmt.Errorf("image %q: %v: %w", name, cause, ErrIncomplete)
	}
	if err := s.saveState(name, f, h, p); err != nil {
		return Progress{}, fmt.Errorf("image %q: %v (and its state: %v): %w", name, cause, err, ErrIncomplete)
	}
	return p, fmt.Errorf("image %q: %v after byte %d of %d: %w", name, cause, p.Offset, p.Total, ErrIncomplete)
}

// saveState makes the part file durable up to p.Offset and records the
// offset and the hash state there.
func (s *Store) saveState(name string, f *os.File, h hash.Hash, p Progress) error {
	hs, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		var raw []byte
		raw, err = json.Marshal(pendingState{Total: p.Total, Offset: p.Offset, Hash: hs, Updated: s.o.Now()})
		if err == nil {
			err = writeFileAtomic(s.stateFile(name), raw)
		}
	}
	if err != nil {
		s.removePending(name)
		return fmt.Errorf("image %q: %w", name, err)
	}
	return nil
}

// commit publishes a complete upload: its data moves into .data/ under a
// new name, and the image exists once its metadata is renamed into place.
func (s *Store) commit(name string, f *os.File, h hash.Hash, p Progress) (Progress, error) {
	if err := f.Sync(); err != nil {
		s.removePending(name)
		return Progress{}, fmt.Errorf("image %q: %w", name, err)
	}
	m := meta{
		Image: Image{Name: name, Size: p.Offset, SHA256: hex.EncodeToString(h.Sum(nil)),
			Uploaded: s.o.Now().UTC().Truncate(time.Second), MediaType: guessMediaType(f)},
		Token: randomHex(16),
		Blob:  randomHex(16),
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Progress{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.o.InUse(name) {
		// Inserted into a slot while the upload ran.
		s.removePending(name)
		return Progress{}, fmt.Errorf("image %q is in a virtual media slot and cannot be replaced: %w", name, ErrBusy)
	}
	if err := os.Rename(s.partFile(name), s.blobFile(m.Blob)); err != nil {
		s.removePending(name)
		return Progress{}, fmt.Errorf("image %q: %w", name, err)
	}
	if err := syncDir(s.dataDir()); err == nil {
		err = writeFileAtomic(s.metaFile(name), raw)
	}
	if err != nil {
		_ = os.Remove(s.blobFile(m.Blob))
		s.removePending(name)
		return Progress{}, fmt.Errorf("image %q: %w", name, err)
	}
	old, replaced := s.images[name]
	s.images[name] = m
	if replaced {
		_ = os.Remove(s.blobFile(old.Blob))
	}
	_ = os.Remove(s.stateFile(name))
	p.Done, p.Image, p.Replaced = true, m.Image, replaced
	return p, nil
}

// guessMediaType reads the ISO 9660 signature ("CD001" at byte 32769).
func guessMediaType(f *os.File) string {
	sig := make([]byte, 5)
	if n, _ := f.ReadAt(sig, 32769); n == len(sig) && bytes.Equal(sig, []byte("CD001")) {
		return MediaISO9660
	}
	return MediaRaw
}

// hashWriter writes to the file and the hash, and keeps the file's error
// apart from the body's.
type hashWriter struct {
	f   *os.File
	h   hash.Hash
	err error
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	if err != nil {
		w.err = err
	}
	return n, err
}

// copyContext copies until src ends, fails or ctx is done, through a
// 1 MiB buffer (never the whole image in memory).
func copyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		r, rerr := src.Read(buf)
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
