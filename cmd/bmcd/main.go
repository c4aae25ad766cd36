// Command bmcd is a baseboard management controller: Redfish over HTTPS
// (and, later, IPMI over LAN) in front of simulated, virtual or real
// machines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	opts, err := parseFlags(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bmcd:", err)
		if opts != nil && opts.checkConfig {
			os.Exit(1)
		}
		os.Exit(2)
	}
	if opts.showVersion {
		fmt.Println("bmcd", version)
		return
	}
	if opts.checkConfig {
		if err := checkConfig(opts); err != nil {
			fmt.Fprintln(os.Stderr, "bmcd:", err)
			os.Exit(1)
		}
		fmt.Printf("bmcd: %s: configuration OK\n", opts.configFile)
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts, log); err != nil {
		log.Error("bmcd failed", "err", err)
		os.Exit(1)
	}
}
