// Package board is the Linux-board backend (issue 10): a real server wired
// to a small Linux board, as PiKVM wires it. It assembles the board's
// parts, each optional: the front panel's ATX pins (hardware/board/atx)
// for power (or Wake-on-LAN, hardware/board/wol, to power on), and the
// USB gadget (hardware/board/gadget) for the keyboard,
// the pointer and the mass-storage drive that presents virtual media.
// The server has no boot control the board can reach: Boot is nil (a boot
// override is accepted and ignored, PiKVM's behaviour). The screen is
// an HDMI capture device (hardware/board/capture), given as Config.Display.
package board

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/board/atx"
	"github.com/bmcd/bmcd/hardware/board/gadget"
	"github.com/bmcd/bmcd/hardware/board/wol"
	"github.com/bmcd/bmcd/internal/fetch"
)

// Defaults of the inventory: the board cannot read the server's own.
const (
	DefaultManufacturer = "Generic"
	DefaultModel        = "Server on a bmcd board"
)

// Config is how New assembles a board.
type Config struct {
	// ID is the system's Id.
	ID string
	// Identity derives the server's UUID and serial number.
	Identity hardware.Identity
	// Manufacturer and Model are the inventory's (the defaults when
	// empty).
	Manufacturer, Model string
	// MediaDir is the virtual media cache (STATE_DIR/board/<id>/media).
	MediaDir string
	// Fetcher fetches media images (nil: a zero fetch.Fetcher).
	Fetcher *fetch.Fetcher
	// Log is the backend's logger (nil: slog.Default()).
	Log *slog.Logger
	// WOL powers the server on by Wake-on-LAN (nil: not at all): alone,
	// or with the ATX part when WOLPrefer (wol.Power says how).
	WOL       wol.Sender
	WOLPrefer bool
	// Display is the server's screen, an HDMI capture device (nil: no
	// screen). Board.Close closes it when it is an io.Closer.
	Display hardware.Display
}

// Gadget is the USB gadget part as the board uses it: every field may be
// nil. Close closes the devices and tears the gadget down.
type Gadget struct {
	// Gadget is the configfs gadget, destroyed at Close.
	Gadget      *gadget.Gadget
	Keyboard    *gadget.Keyboard
	Pointer     *gadget.Pointer
	MassStorage *gadget.MassStorage // nil: no virtual media
}

// Board is the backend: hardware.Backend over its parts.
type Board struct {
	cfg   Config
	atx   *atx.ATX
	g     *Gadget
	media *Media
	wol   *wol.Power // nil: power is the ATX part's alone
}

var _ hardware.Backend = (*Board)(nil)

// New assembles a board of its parts, already open: a (nil: no power
// control but cfg.WOL), g (nil: no USB gadget) and cfg.Display (nil: no
// screen). Board.Close closes them. Errors: ErrInvalid when none is given.
func New(cfg Config, a *atx.ATX, g *Gadget) (*Board, error) {
	if a == nil && g == nil && cfg.WOL == nil && cfg.Display == nil {
		return nil, fmt.Errorf("board: no part configured (give atx:, gadget:, wol:, capture: or several): %w", hardware.ErrInvalid)
	}
	if cfg.Manufacturer == "" {
		cfg.Manufacturer = DefaultManufacturer
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Fetcher == nil {
		cfg.Fetcher = &fetch.Fetcher{}
	}
	b := &Board{cfg: cfg, atx: a, g: g}
	if g != nil && g.MassStorage != nil {
		m, err := NewMedia(g.MassStorage, cfg.MediaDir, cfg.Fetcher, cfg.Log)
		if err != nil {
			return nil, err
		}
		b.media = m
	}
	if cfg.WOL != nil && a == nil {
		b.wol = wol.NewPower(cfg.WOL, nil)
	} else if cfg.WOL != nil && cfg.WOLPrefer {
		b.wol = wol.NewPower(cfg.WOL, a)
	}
	return b, nil
}

// Info implements hardware.Backend: the configured manufacturer and
// model; UUID and serial number derived from the system's identity
// (stable across restarts).
func (b *Board) Info() hardware.Info {
	sum := b.cfg.Identity.Sum("bmcd-board")
	serial := b.cfg.Identity.Sum("bmcd-board-serial")
	return hardware.Info{
		Manufacturer: b.cfg.Manufacturer,
		Model:        b.cfg.Model,
		UUID:         hardware.NameUUID(sum),
		SerialNumber: fmt.Sprintf("BMCD%X", serial[:6]),
	}
}

// Attach implements hardware.Backend: Power from the ATX part (Wake-on-LAN
// alone, or over the ATX part with wol.prefer); Keyboard, Pointer,
// MassStorage and Media from the gadget; Display from the capture device;
// every other part nil.
func (b *Board) Attach(h hardware.Host) hardware.Parts {
	var p hardware.Parts
	if b.atx != nil {
		b.atx.Attach(h)
		p.Power = b.atx
	}
	if g := b.g; g != nil {
		if g.Keyboard != nil {
			p.Keyboard = g.Keyboard
		}
		if g.Pointer != nil {
			p.Pointer = g.Pointer
		}
		if g.MassStorage != nil {
			p.MassStorage = g.MassStorage
		}
	}
	if b.media != nil {
		p.Media = b.media
	}
	if b.wol != nil {
		b.wol.Attach(h)
		p.Power = b.wol
	}
	if b.cfg.Display != nil {
		p.Display = b.cfg.Display
	}
	return p
}

// Close implements hardware.Backend: the ATX lines are released (a held
// button first), the HID devices closed, the gadget (its LUN and medium
// with it) unbound and removed from configfs, and the capture device
// closed. The media cache stays (see Media.ResumeMedia).
func (b *Board) Close() error {
	err := closeParts(b.atx, b.g)
	if c, ok := b.cfg.Display.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}
