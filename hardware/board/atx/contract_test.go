package atx_test

import (
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/board/atx"
	"github.com/bmcd/bmcd/hardware/board/atx/atxsim"
)

// board is the smallest backend: the ATX part alone, on a simulated
// server's front panel (atxsim).
type board struct {
	a   *atx.ATX
	srv *atxsim.Server
}

func (b *board) Info() hardware.Info {
	return hardware.Info{Manufacturer: "bmcd", Model: "ATX test board"}
}
func (b *board) Attach(h hardware.Host) hardware.Parts {
	b.a.Attach(h)
	return hardware.Parts{Power: b.a}
}
func (b *board) Close() error {
	err := b.a.Close()
	b.srv.Close()
	return err
}

func TestContract(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the contract runs presses on the real clock")
	}
	backendtest.Run(t, backendtest.Config{
		Timeout: 5 * time.Second,
		New: func(t *testing.T) hardware.Backend {
			srv := atxsim.New(atxsim.Timings{MinPress: 5 * time.Millisecond, ForceOffHold: 100 * time.Millisecond,
				OnDelay: 5 * time.Millisecond, ShutdownDelay: 30 * time.Millisecond, HDDActivity: 10 * time.Millisecond}, false, nil)
			tm := atx.Timings{ShortPress: 20 * time.Millisecond, LongPress: 120 * time.Millisecond, ResetPress: 20 * time.Millisecond,
				LEDDebounce: 40 * time.Millisecond, PowerCycleDelay: 100 * time.Millisecond}
			a, err := atx.New(srv.Lines(), tm, nil)
			if err != nil {
				t.Fatal(err)
			}
			return &board{a: a, srv: srv}
		},
	})
}
