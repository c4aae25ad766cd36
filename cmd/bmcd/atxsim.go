//go:build atxsim

package main

import (
	"log/slog"
	"os"

	"github.com/bmcd/bmcd/hardware/board/atx"
	"github.com/bmcd/bmcd/hardware/board/atx/atxsim"
)

// A binary built with the atxsim tag (the in-VM board tests, where the
// kernel has no GPIO chip to drive) has a GPIO chip named "sim": a
// simulated server's front panel, its presses and power changes logged
// to stderr. Release builds have no such chip.
func init() {
	s := atxsim.New(atxsim.Timings{}, false, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	atx.RegisterChip("sim", s.Line)
}
