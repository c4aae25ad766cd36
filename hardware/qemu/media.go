package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// mediaState is the CD's image as the backend keeps it (media.json in
// its directory), so that a VM started after a restart of bmcd gets the
// medium the Machine says is inserted.
type mediaState struct {
	URL      string `json:"url,omitempty"`
	File     string `json:"file,omitempty"` // the image in the cache
	Inserted bool   `json:"inserted,omitempty"`
}

func (m *Machine) mediaFile() string { return filepath.Join(m.cfg.Dir, "media.json") }

func (m *Machine) loadMedia() error {
	b, err := os.ReadFile(m.mediaFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st mediaState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.File != "" {
		if _, err := os.Stat(st.File); err != nil {
			return fmt.Errorf("cached image: %w", err)
		}
	}
	m.media = st
	return nil
}

// saveMediaLocked writes the state, replacing the file whole.
func (m *Machine) saveMediaLocked() error {
	b, err := json.Marshal(m.media)
	if err != nil {
		return err
	}
	tmp := m.mediaFile() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.mediaFile())
}

// Slots implements hardware.VirtualMedia: the CD-ROM.
func (m *Machine) Slots() []hardware.SlotSpec { return []hardware.SlotSpec{mediaSlot} }

// cdDevice is the qdev ID of the CD-ROM.
func (m *Machine) cdDevice() string {
	if m.cfg.Attach != nil {
		return m.cfg.Attach.CDROM
	}
	return cdID
}

// probeBytes is what a CheckOnly insert reads: enough to reach the ISO
// 9660 primary volume descriptor at 32 KiB.
const probeBytes = 36 * 1024

// InsertMedia implements hardware.VirtualMedia. The image is fetched
// whole, under img.TLS, into the media cache of the backend's directory
// (QEMU's own http driver cannot apply the slot's certificate policy);
// while the VM runs it is inserted at once (QMP blockdev-add, then the
// tray forced open, the medium swapped and the tray closed), else at the
// next start. With CheckOnly only the head of the image is read. Errors:
// ErrNotFound for another slot; a *MediaError when the image cannot be
// fetched; ErrUnavailable when QEMU does not take it.
func (m *Machine) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	if slot != mediaSlot.ID {
		return 0, "", fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	if img.CheckOnly {
		return hardware.ProbeMedia(ctx, m.fetch, img)
	}
	file, size, format, err := m.download(ctx, img)
	if err != nil {
		return 0, "", err
	}
	m.mu.Lock()
	p := m.proc
	if m.power == hardware.PowerOff && m.cfg.Attach == nil {
		p = nil // the next start inserts it
	}
	m.mu.Unlock()
	if p != nil {
		if err := m.swapMedium(ctx, p, file); err != nil {
			os.Remove(file)
			return 0, "", err
		}
	}
	m.mu.Lock()
	old := m.media.File
	m.media = mediaState{URL: img.URL, File: file, Inserted: true}
	err = m.saveMediaLocked()
	m.mu.Unlock()
	if old != "" && old != file {
		os.Remove(old)
	}
	if err != nil {
		m.log.Warn("qemu: virtual media state not saved", "err", err)
	}
	return size, format, nil
}

// EjectMedia implements hardware.VirtualMedia: the medium leaves the
// drive (at once while the VM runs) and the cache.
func (m *Machine) EjectMedia(ctx context.Context, slot string) error {
	if slot != mediaSlot.ID {
		return fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	m.mu.Lock()
	p := m.proc
	if m.power == hardware.PowerOff && m.cfg.Attach == nil {
		p = nil
	}
	m.mu.Unlock()
	if p != nil {
		if err := m.swapMedium(ctx, p, ""); err != nil {
			return err
		}
	}
	m.mu.Lock()
	old := m.media.File
	m.media = mediaState{}
	err := m.saveMediaLocked()
	m.mu.Unlock()
	if old != "" {
		os.Remove(old)
	}
	if err != nil {
		m.log.Warn("qemu: virtual media state not saved", "err", err)
	}
	return nil
}

// swapMedium replaces the CD's medium with file ("" leaves it empty).
func (m *Machine) swapMedium(ctx context.Context, p *proc, file string) error {
	dev := m.cdDevice()
	run := func(cmd string, args map[string]any) error {
		if err := p.qmp.Execute(ctx, cmd, args, nil); err != nil {
			return unavailable("virtual media: "+cmd, err)
		}
		return nil
	}
	m.mu.Lock()
	old := p.media
	node := mediaNode(p.nodes)
	p.nodes++
	m.mu.Unlock()
	if file != "" {
		if err := run("blockdev-add", map[string]any{"driver": "raw", "node-name": node, "read-only": true,
			"file": map[string]any{"driver": "file", "filename": file, "read-only": true}}); err != nil {
			return err
		}
	}
	if err := run("blockdev-open-tray", map[string]any{"id": dev, "force": true}); err != nil {
		return err
	}
	if err := run("blockdev-remove-medium", map[string]any{"id": dev}); err != nil {
		return err
	}
	if old != "" {
		// The node bmcd added; a medium QEMU was started with has a file
		// node of its own. Neither is needed any more.
		_ = p.qmp.Execute(ctx, "blockdev-del", map[string]any{"node-name": old}, nil)
		_ = p.qmp.Execute(ctx, "blockdev-del", map[string]any{"node-name": old + "-file"}, nil)
	}
	m.mu.Lock()
	p.media = ""
	m.mu.Unlock()
	if file != "" {
		if err := run("blockdev-insert-medium", map[string]any{"id": dev, "node-name": node}); err != nil {
			return err
		}
		m.mu.Lock()
		p.media = node
		m.mu.Unlock()
	}
	return run("blockdev-close-tray", map[string]any{"id": dev})
}

// adoptMedia finds the node of the medium in the CD of a QEMU bmcd did
// not start (query-block).
func (m *Machine) adoptMedia(ctx context.Context, p *proc) error {
	p.nodes = int(time.Now().UnixNano() % 1e9) // names no earlier bmcd used
	dev := m.cdDevice()
	if dev == "" {
		return nil
	}
	var blocks []struct {
		QDev     string `json:"qdev"`
		Inserted *struct {
			NodeName string `json:"node-name"`
		} `json:"inserted"`
	}
	if err := p.qmp.Execute(ctx, "query-block", nil, &blocks); err != nil {
		return err
	}
	for _, b := range blocks {
		if b.QDev == dev || strings.HasPrefix(b.QDev, qdevPath(dev)+"/") || b.QDev == qdevPath(dev) {
			if b.Inserted != nil {
				p.media = b.Inserted.NodeName
			}
		}
	}
	return nil
}

// download fetches the image whole into the cache and returns its path,
// size and format.
func (m *Machine) download(ctx context.Context, img hardware.MediaImage) (string, int64, string, error) {
	dir := filepath.Join(m.cfg.Dir, "media")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, "", err
	}
	final := filepath.Join(dir, "CD-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".iso")
	n, format, err := hardware.DownloadMedia(ctx, m.fetch, img, final)
	if err != nil {
		return "", 0, "", err
	}
	return final, n, format, nil
}
