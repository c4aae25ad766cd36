package main

import (
	"fmt"
	"strconv"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"github.com/bmcd/bmcd/internal/config"
)

// checkConfig is `bmcd -check-config`: what bmcd would refuse at start in
// the configuration file, found without starting. parseFlags has loaded
// the file (its keys, values, users and system Ids); this adds the
// systems' Ids used twice (with -sim-systems), and each system's backend
// and block as the backend checks it (hardware.CheckBackend: no device,
// connection or state directory is opened). The errors are those bmcd
// gives at start.
func checkConfig(o *options) error {
	systems := o.file.Systems
	for i := 0; i < o.simSystems; i++ {
		systems = append(systems, config.System{ID: strconv.Itoa(i), Backend: "sim"})
	}
	seen := map[string]bool{}
	for _, s := range systems {
		if seen[s.ID] {
			return fmt.Errorf("system id %q is used twice (config file and -sim-systems?)", s.ID)
		}
		seen[s.ID] = true
		if err := hardware.CheckBackend(s.Backend, s.ID, backendconfig.New(s.Backend, s.Params)); err != nil {
			return err
		}
	}
	return nil
}
