package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"github.com/bmcd/bmcd/internal/store"
)

// listWait bounds how long bmcd waits, at start, for a discovery's first
// listing before it serves without the rest (they join as they are found).
const listWait = 30 * time.Second

// startDiscovery starts every discovery of the configuration (the discover
// list, -libvirt-uri) into the fleet and waits for their first listings.
// A discovery that fails before it has listed anything (its daemon cannot
// be reached, its block is wrong) stops bmcd with an error naming it.
// stop ends them all and waits until their machines are closed.
func startDiscovery(ctx context.Context, o *options, fleet *hardware.Fleet, seed string, db *store.DB, log *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var dones []<-chan error
	stop = func() {
		cancel()
		for _, d := range dones {
			<-d
		}
	}
	for i, e := range o.file.Discover {
		name := e.Backend
		if len(o.file.Discover) > 1 {
			name = fmt.Sprintf("%s#%d", e.Backend, i+1)
		}
		d, err := hardware.NewDiscovery(e.Backend, hardware.DiscoverySetup{
			Name: name, Seed: seed, StateDir: o.stateDir, Log: log.With("discover", name),
			Config: backendconfig.New(e.Backend, e.Params),
		})
		if err != nil {
			stop()
			return nil, err
		}
		listed, done := fleet.Discover(ctx, name, d, db, log)
		start := time.Now()
		select {
		case <-listed:
		case <-time.After(listWait):
			log.Warn("discovery still listing; serving what it found so far", "discover", name, "found", fleet.Len())
		}
		select {
		case err := <-done: // it ended before listing: it could not start
			stop()
			if err == nil {
				err = fmt.Errorf("stopped before listing")
			}
			return nil, fmt.Errorf("discover %s: %w", name, err)
		default:
		}
		dones = append(dones, done)
		log.Info("discovery listed", "discover", name, "systems", fleet.Len(), "took", time.Since(start).Round(time.Millisecond))
	}
	return stop, nil
}
