package main

// The backends bmcd is built with: each registers itself by name from an
// init function in its setup.go (hardware.Register). A new backend adds
// one line here.
import (
	_ "github.com/bmcd/bmcd/hardware/board"
	_ "github.com/bmcd/bmcd/hardware/libvirt"
	_ "github.com/bmcd/bmcd/hardware/qemu"
	_ "github.com/bmcd/bmcd/hardware/sim"
	_ "github.com/bmcd/bmcd/hardware/vsphere"
)
