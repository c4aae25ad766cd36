package board

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/board/atx"
	"github.com/bmcd/bmcd/hardware/board/capture"
	"github.com/bmcd/bmcd/hardware/board/gadget"
	"github.com/bmcd/bmcd/hardware/board/wol"
)

func init() {
	hardware.Register("board", setup)
	hardware.RegisterCheck("board", checkBlock)
}

// checkBlock is the board's hardware.CheckFunc: the block decoded and
// checked as setup does, no device opened.
func checkBlock(c hardware.BackendConfig) error {
	var p Params
	if err := c.Decode(&p); err != nil {
		return err
	}
	if err := p.check(); err != nil {
		return err
	}
	if p.Capture != nil && !capture.Built {
		// What setup's capture.Open will say.
		_, err := capture.Open(*p.Capture, nil)
		return prefixed(err, "capture")
	}
	return nil
}

// Params is a board system's `board:` block in the configuration file
// (docs/board.md). Each part is used only when its block is given; at
// least one must be.
type Params struct {
	// Manufacturer and Model are the server's inventory (DefaultManufacturer,
	// DefaultModel).
	Manufacturer string `yaml:"manufacturer" validate:"omitempty,max=64"`
	Model        string `yaml:"model" validate:"omitempty,max=64"`
	// ATX is the front panel's GPIO lines: power control.
	ATX *atx.Config `yaml:"atx"`
	// Gadget is the USB gadget: keyboard, pointer, virtual media.
	Gadget *gadget.Config `yaml:"gadget"`
	// WOL is Wake-on-LAN: power on by magic packet, alone or (prefer:
	// true) instead of the ATX power button.
	WOL *wol.Config `yaml:"wol"`
	// Capture is the HDMI capture device: the server's screen.
	Capture *capture.Config `yaml:"capture"`
}

// check decodes nothing: it reports what the parts' own Check say, named
// by the block's keys ("board.atx.power_button: ..."). Errors: ErrInvalid.
func (p Params) check() error {
	if p.ATX == nil && p.Gadget == nil && p.WOL == nil && p.Capture == nil {
		return fmt.Errorf("board: no part configured (give atx:, gadget:, wol:, capture: or several): %w", hardware.ErrInvalid)
	}
	if p.ATX != nil {
		if err := p.ATX.Check(); err != nil {
			return prefixed(err, "atx")
		}
	}
	if p.Gadget != nil {
		if err := p.Gadget.Check(); err != nil {
			return prefixed(err, "gadget")
		}
	}
	if p.WOL != nil {
		if err := p.WOL.Check(); err != nil {
			return prefixed(err, "wol")
		}
	}
	if p.Capture != nil {
		if err := p.Capture.Check(); err != nil {
			return prefixed(err, "capture")
		}
	}
	return nil
}

// prefixed names err by the board's block: the parts say "atx.x: ..." or
// "atx: ...", the configuration file knows "board.atx.x: ...".
func prefixed(err error, part string) error {
	if strings.HasPrefix(err.Error(), part+".") || strings.HasPrefix(err.Error(), part+":") {
		return fmt.Errorf("board.%w", err)
	}
	return fmt.Errorf("board.%s: %w", part, err)
}

// setup is the board backend's hardware.SetupFunc: it decodes the block,
// then opens the parts on the real devices (GPIO character device,
// configfs and /dev/hidgN; the capture device is opened while someone
// watches the screen). A build without cgo refuses a capture: block.
func setup(s hardware.Setup) (hardware.Backend, error) {
	var p Params
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	cfg := Config{
		ID: s.ID, Identity: s.Identity(), Manufacturer: p.Manufacturer, Model: p.Model,
		MediaDir: filepath.Join(s.StateDir, "board", s.ID, "media"), Log: s.Log,
	}
	if p.WOL != nil {
		w, err := wol.New(*p.WOL)
		if err != nil {
			return nil, prefixed(err, "wol")
		}
		cfg.WOL, cfg.WOLPrefer = w, p.WOL.Prefer
	}
	if p.Capture != nil {
		d, err := capture.Open(*p.Capture, s.Log)
		if err != nil {
			return nil, prefixed(err, "capture")
		}
		cfg.Display = d
	}
	closeDisplay := func() {
		if d, ok := cfg.Display.(*capture.Display); ok {
			d.Close()
		}
	}
	var a *atx.ATX
	if p.ATX != nil {
		var err error
		if a, err = atx.Open(*p.ATX); err != nil {
			closeDisplay()
			return nil, prefixed(err, "atx")
		}
	}
	var g *Gadget
	if p.Gadget != nil {
		var err error
		if g, err = openGadget(*p.Gadget, s.Identity()); err != nil {
			if a != nil {
				a.Close()
			}
			closeDisplay()
			return nil, prefixed(err, "gadget")
		}
	}
	b, err := New(cfg, a, g)
	if err != nil {
		closeParts(a, g)
		closeDisplay()
		return nil, err
	}
	return b, nil
}

// openGadget writes the gadget into configfs, binds it, and opens its
// device nodes. On an error what was made is undone.
func openGadget(c gadget.Config, id hardware.Identity) (*Gadget, error) {
	gd, err := gadget.New(c, id, nil)
	if err != nil {
		return nil, err
	}
	if err := gd.Create(); err != nil {
		return nil, err
	}
	g := &Gadget{Gadget: gd}
	if g.Keyboard, err = gd.OpenKeyboard(); err != nil {
		closeParts(nil, g)
		return nil, err
	}
	if g.Pointer, err = gd.OpenPointer(); err != nil {
		closeParts(nil, g)
		return nil, err
	}
	if !c.NoMassStorage {
		if g.MassStorage, err = gd.MassStorage(); err != nil {
			closeParts(nil, g)
			return nil, err
		}
	}
	return g, nil
}

func closeParts(a *atx.ATX, g *Gadget) error {
	var errs []error
	if a != nil {
		errs = append(errs, a.Close())
	}
	if g != nil {
		if g.Keyboard != nil {
			errs = append(errs, g.Keyboard.Close())
		}
		if g.Pointer != nil {
			errs = append(errs, g.Pointer.Close())
		}
		if g.Gadget != nil {
			errs = append(errs, g.Gadget.Destroy())
		}
	}
	return errors.Join(errs...)
}
