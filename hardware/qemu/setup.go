package qemu

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

func init() { hardware.Register("qemu", setup) }

// Params is a QEMU system's `qemu:` block in the configuration file.
// Every key is optional; docs/configuration.md describes them.
type Params struct {
	Binary          string        `yaml:"binary"`
	Accel           string        `yaml:"accel" validate:"omitempty,oneof=auto kvm tcg"`
	Machine         string        `yaml:"machine"`
	MemoryMB        int           `yaml:"memory_mb" validate:"min=0,max=1048576"`
	CPUs            int           `yaml:"cpus" validate:"min=0,max=288"`
	Firmware        string        `yaml:"firmware" validate:"omitempty,oneof=bios uefi"`
	OVMFCode        string        `yaml:"ovmf_code"`
	OVMFVars        string        `yaml:"ovmf_vars"`
	Disks           []DiskParams  `yaml:"disks" validate:"dive"`
	Networks        []string      `yaml:"networks" validate:"dive,required"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" validate:"min=0"`
	ExtraArgs       []string      `yaml:"extra_args"`
	KeepRunning     bool          `yaml:"keep_running"`
	Attach          *AttachParams `yaml:"attach"`
}

// DiskParams is one disk of the `disks:` list.
type DiskParams struct {
	Path     string `yaml:"path" validate:"required"`
	Size     string `yaml:"size"` // e.g. 20G: create a qcow2 this big if Path is missing
	Format   string `yaml:"format" validate:"omitempty,oneof=qcow2 raw"`
	ReadOnly bool   `yaml:"read_only"`
}

// AttachParams is the `attach:` block: a QEMU started by someone else.
type AttachParams struct {
	QMP         string `yaml:"qmp" validate:"required"`
	VNC         string `yaml:"vnc"`
	VNCPassword string `yaml:"vnc_password"`
	Serial      string `yaml:"serial"`
	Debug       string `yaml:"debug"`
	CDROM       string `yaml:"cdrom"`
}

// setup is the qemu backend's hardware.SetupFunc.
func setup(s hardware.Setup) (hardware.Backend, error) {
	var p Params
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	cfg := Config{
		ID: s.ID, Seed: s.Seed, Dir: filepath.Join(s.StateDir, "qemu", s.ID), Log: s.Log,
		Binary: p.Binary, Accel: p.Accel, Machine: p.Machine, MemoryMB: p.MemoryMB, CPUs: p.CPUs,
		Firmware: p.Firmware, OVMFCode: p.OVMFCode, OVMFVars: p.OVMFVars,
		Networks: p.Networks, ShutdownTimeout: p.ShutdownTimeout, ExtraArgs: p.ExtraArgs, KeepRunning: p.KeepRunning,
	}
	for i, d := range p.Disks {
		size, err := parseSize(d.Size)
		if err != nil {
			return nil, fmt.Errorf("qemu.disks[%d].size: %w", i, err)
		}
		cfg.Disks = append(cfg.Disks, Disk{Path: d.Path, Size: size, Format: d.Format, ReadOnly: d.ReadOnly})
	}
	if a := p.Attach; a != nil {
		cfg.Attach = &Attached{QMP: a.QMP, VNC: a.VNC, VNCPassword: a.VNCPassword, Serial: a.Serial, Debug: a.Debug, CDROM: a.CDROM}
	}
	return New(cfg)
}

// parseSize reads a size in bytes with an optional binary suffix: K, M,
// G or T (KiB...), as qemu-img takes it. Empty is 0.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	orig := s
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with K, M, G or T)", orig)
	}
	return n * mult, nil
}
