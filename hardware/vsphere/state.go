package vsphere

import (
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// vmProps are the VM properties the property collector keeps current
// for bmcd: everything a Redfish GET or an IPMI request reads is among
// them, so none of those asks vCenter. They are the parts of "config"
// bmcd uses, not all of it: the whole configuration (extraConfig and all)
// would come again at every change of any of it, and vcsim copies every
// watched VM's whole configuration at every change it reports.
var vmProps = []string{
	"name",
	"config.instanceUuid",
	"config.uuid",
	"config.template",
	"config.version",
	"config.guestId",
	"config.changeVersion",
	"config.firmware",
	"config.bootOptions",
	"config.hardware.numCPU",
	"config.hardware.numCoresPerSocket",
	"config.hardware.memoryMB",
	"config.hardware.device",
	"runtime.powerState",
	"runtime.connectionState",
	"summary.runtime.bootTime",
	"guest.toolsRunningStatus",
	"datastore",
}

// bootProps are read again when config.changeVersion changes without
// them: vcsim reports a reconfiguration of the boot options or firmware
// only as a new changeVersion (vCenter reports the properties).
var bootProps = []string{"config.bootOptions", "config.firmware"}

// vmState is what bmcd knows of one VM, from the property collector. It
// is a value: a change makes a new one (Config is never modified in
// place).
type vmState struct {
	Ref  types.ManagedObjectReference
	Name string
	// Config is nil while vCenter has none (an inaccessible VM).
	Config     *types.VirtualMachineConfigInfo
	Power      types.VirtualMachinePowerState
	Connection types.VirtualMachineConnectionState
	// BootTime is when the VM last powered on (zero: unknown, or off).
	BootTime   time.Time
	Tools      bool // VMware Tools run in the guest
	Datastores []types.ManagedObjectReference
}

// apply sets one changed property.
func (s *vmState) apply(c types.PropertyChange) {
	remove := c.Op == types.PropertyChangeOpRemove || c.Op == types.PropertyChangeOpIndirectRemove
	switch c.Name {
	case "name":
		s.Name, _ = c.Val.(string)
	case "config":
		s.Config = nil
		if cfg, ok := c.Val.(types.VirtualMachineConfigInfo); ok && !remove {
			s.Config = &cfg
		}
	default:
		if strings.HasPrefix(c.Name, "config.") {
			s.applyConfig(c.Name, c.Val, remove)
		}
	case "runtime.powerState":
		s.Power, _ = c.Val.(types.VirtualMachinePowerState)
	case "runtime.connectionState":
		s.Connection, _ = c.Val.(types.VirtualMachineConnectionState)
	case "summary.runtime.bootTime":
		s.BootTime = time.Time{}
		if t, ok := c.Val.(time.Time); ok && !remove {
			s.BootTime = t
		}
	case "guest.toolsRunningStatus":
		st, _ := c.Val.(string)
		s.Tools = st == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	case "datastore":
		s.Datastores = nil
		if a, ok := c.Val.(types.ArrayOfManagedObjectReference); ok && !remove {
			s.Datastores = a.ManagedObjectReference
		}
	}
}

// applyConfig sets one config sub-property, in a copy of the
// configuration (the old one may still be read).
func (s *vmState) applyConfig(name string, val any, remove bool) {
	var cfg types.VirtualMachineConfigInfo
	if s.Config != nil {
		cfg = *s.Config
	}
	if remove {
		val = nil
	}
	str, _ := val.(string)
	i32 := func() int32 {
		switch v := val.(type) {
		case int32:
			return v
		case *int32:
			if v != nil {
				return *v
			}
		}
		return 0
	}
	switch name {
	case "config.instanceUuid":
		cfg.InstanceUuid = str
	case "config.uuid":
		cfg.Uuid = str
	case "config.template":
		cfg.Template, _ = val.(bool)
	case "config.version":
		cfg.Version = str
	case "config.guestId":
		cfg.GuestId = str
	case "config.changeVersion":
		cfg.ChangeVersion = str
	case "config.firmware":
		cfg.Firmware = str
	case "config.bootOptions":
		cfg.BootOptions = nil
		switch o := val.(type) {
		case types.VirtualMachineBootOptions:
			cfg.BootOptions = &o
		case *types.VirtualMachineBootOptions:
			cfg.BootOptions = o
		}
	case "config.hardware.numCPU":
		cfg.Hardware.NumCPU = i32()
	case "config.hardware.numCoresPerSocket":
		n := i32()
		cfg.Hardware.NumCoresPerSocket = &n
	case "config.hardware.memoryMB":
		cfg.Hardware.MemoryMB = i32()
	case "config.hardware.device":
		cfg.Hardware.Device = nil
		if a, ok := val.(types.ArrayOfVirtualDevice); ok {
			cfg.Hardware.Device = a.VirtualDevice
		}
	default:
		return
	}
	s.Config = &cfg
}

// stateOf builds a vmState from a retrieved VirtualMachine.
func stateOf(vm mo.VirtualMachine) vmState {
	s := vmState{Ref: vm.Self, Name: vm.Name, Config: vm.Config, Power: vm.Runtime.PowerState,
		Connection: vm.Runtime.ConnectionState, Datastores: vm.Datastore}
	if t := vm.Summary.Runtime.BootTime; t != nil {
		s.BootTime = *t
	}
	if vm.Guest != nil {
		s.Tools = vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	}
	return s
}

// instanceUUID is vCenter's identity of the VM (config.instanceUuid).
func (s vmState) instanceUUID() string {
	if s.Config == nil {
		return ""
	}
	return s.Config.InstanceUuid
}

// template reports whether the VM is a template (it cannot power on).
func (s vmState) template() bool { return s.Config != nil && s.Config.Template }

// devices is the VM's virtual hardware.
func (s vmState) devices() object.VirtualDeviceList {
	if s.Config == nil {
		return nil
	}
	return object.VirtualDeviceList(s.Config.Hardware.Device)
}

// power is the VM's power state in the machine model's terms: a suspended
// VM is off (its guest does not run; a power-on resumes it).
func (s vmState) power() hardware.PowerState {
	if s.Power == types.VirtualMachinePowerStatePoweredOn {
		return hardware.PowerOn
	}
	return hardware.PowerOff
}

// reachable reports whether vCenter can act on the VM: its host is
// connected and its files are there.
func (s vmState) reachable() bool {
	return s.Connection == "" || s.Connection == types.VirtualMachineConnectionStateConnected
}

// firmware is "efi" or "bios".
func (s vmState) firmware() string {
	if s.Config != nil && s.Config.Firmware == string(types.GuestOsDescriptorFirmwareTypeEfi) {
		return string(types.GuestOsDescriptorFirmwareTypeEfi)
	}
	return string(types.GuestOsDescriptorFirmwareTypeBios)
}
