package board

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// The board's virtual media slots. Both present their image through the
// gadget's one mass-storage LUN, so one of them at a time holds a medium.
var (
	SlotCD  = hardware.SlotSpec{ID: "CD", Name: "Virtual CD/DVD", Types: []hardware.MediaType{hardware.MediaCD, hardware.MediaDVD}, Boot: hardware.BootCd}
	SlotUSB = hardware.SlotSpec{ID: "USB", Name: "Virtual USB stick", Types: []hardware.MediaType{hardware.MediaUSBStick}, Boot: hardware.BootUsb}
)

// probeBytes is what a CheckOnly insert reads: up to the ISO 9660
// primary volume descriptor's signature.
const probeBytes = hardware.ISOHeadSize

// mediaState is what the LUN presents, kept in media.json in the cache
// directory so that a bmcd started again presents it again (ResumeMedia).
type mediaState struct {
	Slot string `json:"slot,omitempty"`
	URL  string `json:"url,omitempty"`
	File string `json:"file,omitempty"`
}

// Media is hardware.VirtualMedia on the USB gadget's mass-storage LUN:
// slot CD presents its image as a read-only CD-ROM, slot USB as a
// read-only removable disk (a flash drive). An image is fetched whole
// through internal/fetch, under the slot's TLS policy, into the cache
// directory, and the LUN's file is that copy. Safe for concurrent use.
type Media struct {
	ms    hardware.MassStorage
	dir   string
	fetch *fetch.Fetcher
	log   *slog.Logger

	mu sync.Mutex
	st mediaState
}

var (
	_ hardware.VirtualMedia = (*Media)(nil)
	_ hardware.MediaResumer = (*Media)(nil)
)

// NewMedia is the virtual media of ms, caching images in dir (made if
// missing; media.json there is read back). Errors: the directory cannot
// be made.
func NewMedia(ms hardware.MassStorage, dir string, f *fetch.Fetcher, log *slog.Logger) (*Media, error) {
	if dir == "" {
		return nil, fmt.Errorf("board: no media cache directory: %w", hardware.ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("board: media cache: %w", err)
	}
	if f == nil {
		f = &fetch.Fetcher{}
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Media{ms: ms, dir: dir, fetch: f, log: log}
	if b, err := os.ReadFile(m.stateFile()); err == nil {
		if err := json.Unmarshal(b, &m.st); err != nil {
			log.Warn("board: media.json unreadable, ignored", "err", err)
			m.st = mediaState{}
		}
	}
	return m, nil
}

func (m *Media) stateFile() string { return filepath.Join(m.dir, "media.json") }

func (m *Media) saveLocked() {
	b, _ := json.Marshal(m.st)
	tmp := m.stateFile() + ".tmp"
	err := os.WriteFile(tmp, b, 0o600)
	if err == nil {
		err = os.Rename(tmp, m.stateFile())
	}
	if err != nil {
		m.log.Warn("board: virtual media state not saved", "err", err)
	}
}

// Slots implements hardware.VirtualMedia: CD, then USB.
func (m *Media) Slots() []hardware.SlotSpec { return []hardware.SlotSpec{SlotCD, SlotUSB} }

func image(slot, file string) hardware.MassStorageImage {
	return hardware.MassStorageImage{Path: file, CDROM: slot == SlotCD.ID, ReadOnly: true}
}

// InsertMedia implements hardware.VirtualMedia: the image is fetched
// whole into the cache and presented on the LUN (what the same slot
// presented before is replaced). With CheckOnly only its head is read.
// Errors: ErrNotFound for an unknown slot; ErrState while the other slot
// holds the LUN; a *MediaError (hardware.MediaFetchError) when the image
// cannot be fetched; the LUN's errors (ErrBusy, ErrUnavailable).
func (m *Media) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	if slot != SlotCD.ID && slot != SlotUSB.ID {
		return 0, "", fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	if err := m.other(slot); err != nil {
		return 0, "", err
	}
	if img.CheckOnly {
		return hardware.ProbeMedia(ctx, m.fetch, img)
	}
	file, size, format, err := m.download(ctx, slot, img)
	if err != nil {
		return 0, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.otherLocked(slot); err != nil {
		os.Remove(file)
		return 0, "", err
	}
	if err := m.ms.Present(ctx, image(slot, file)); err != nil {
		os.Remove(file)
		return 0, "", err
	}
	if old := m.st.File; old != "" && old != file {
		os.Remove(old)
	}
	m.st = mediaState{Slot: slot, URL: img.URL, File: file}
	m.saveLocked()
	return size, format, nil
}

func (m *Media) other(slot string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.otherLocked(slot)
}

func (m *Media) otherLocked(slot string) error {
	if m.st.Slot != "" && m.st.Slot != slot {
		return fmt.Errorf("slot %s: the USB drive presents slot %s's image: eject it first: %w", slot, m.st.Slot, hardware.ErrState)
	}
	return nil
}

// EjectMedia implements hardware.VirtualMedia: the LUN is force-ejected
// and the image leaves the cache. A slot that presents nothing is not an
// error. Errors: ErrNotFound for an unknown slot; the LUN's (ErrBusy,
// ErrUnavailable).
func (m *Media) EjectMedia(ctx context.Context, slot string) error {
	if slot != SlotCD.ID && slot != SlotUSB.ID {
		return fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Slot != slot {
		return nil
	}
	if err := m.ms.Eject(ctx); err != nil {
		return err
	}
	if m.st.File != "" {
		os.Remove(m.st.File)
	}
	m.st = mediaState{}
	m.saveLocked()
	return nil
}

// ResumeMedia implements hardware.MediaResumer: when bmcd starts, the
// image the slot held before it stopped is presented again from the
// cache, without a fetch, if the cache holds that URL's image for that
// slot; otherwise the slot stays empty (logged).
func (m *Media) ResumeMedia(slot, url string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Slot != slot || m.st.URL != url || m.st.File == "" {
		m.log.Warn("board: virtual media not in the cache; insert it again", "slot", slot, "image", url)
		return
	}
	if cur, ok := m.ms.Presented(); ok && cur == image(slot, m.st.File) {
		return
	}
	if err := m.ms.Present(context.Background(), image(slot, m.st.File)); err != nil {
		m.log.Warn("board: virtual media not presented again", "slot", slot, "image", url, "err", err)
	}
}

// download fetches the image whole into the cache: its path, size and
// format.
func (m *Media) download(ctx context.Context, slot string, img hardware.MediaImage) (string, int64, string, error) {
	ext := ".img"
	if slot == SlotCD.ID {
		ext = ".iso"
	}
	final := filepath.Join(m.dir, slot+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+ext)
	n, format, err := hardware.DownloadMedia(ctx, m.fetch, img, final)
	if err != nil {
		return "", 0, "", err
	}
	return final, n, format, nil
}
