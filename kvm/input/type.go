package input

import (
	"context"
	"errors"
)

// Type types text on the host's keyboard as a user of the host's layout
// would: layout names it (LayoutByName: "us", "de", "fr", "ru"), and ""
// is the hub's (Hub.Layout, the machine's setting). Each character goes
// by the key and modifiers that type it there, a character with a dead
// key as two strokes, "\n" (or "\r\n") as Enter and "\t" as Tab; with the
// host's Caps Lock on, letters are shifted the other way so they come out
// as written. It pauses the hub's type delay after each press and release
// so the host keeps up, and returns when the last key is released.
//
// Nothing is typed if the layout cannot type every character: the error
// is then an *UntypableError listing them. ErrUnknownLayout for a layout
// it does not know. It stops, releasing what it pressed, when ctx is done
// (ctx.Err()), when c closes (ErrClosed) or loses control (a
// *ViewOnlyError), or when the keyboard refuses a key (its error).
func (c *Client) Type(ctx context.Context, text, layout string) error {
	l := c.hub.Layout()
	if layout != "" {
		var err error
		if l, err = LayoutByName(layout); err != nil {
			return err
		}
	}
	plan, err := l.Plan(text)
	if err != nil {
		return err
	}
	for _, s := range plan {
		if c.hub.kb.LEDs().CapsLock {
			s = l.CapsLocked(s)
		}
		if err := c.stroke(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// stroke presses s's modifiers and key, waits, and releases them (the
// release even when cut short), then waits again.
func (c *Client) stroke(ctx context.Context, s Stroke) error {
	keys := append(s.Mods.Keys(), s.Key)
	var err error
	pressed := 0
	for _, k := range keys {
		if err = c.Key(k, true); err != nil {
			break
		}
		pressed++
	}
	if err == nil && !c.pause(ctx) {
		err = c.stopped(ctx)
	}
	for i := pressed - 1; i >= 0; i-- {
		if e := c.Key(keys[i], false); e != nil && err == nil {
			err = e
		}
	}
	if err == nil && !c.pause(ctx) {
		err = c.stopped(ctx)
	}
	return err
}

// stopped is why a pause was cut short.
func (c *Client) stopped(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	return errors.New("typing interrupted")
}
