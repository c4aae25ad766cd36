package redfish

import (
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
)

// Each system has its own manager, so a provisioning client that follows
// Links.ManagedBy finds that system's virtual media and nothing else.

var managerResetTypes = []hardware.ResetType{hardware.ResetForceRestart, hardware.ResetGracefulRestart}

func (s *Service) managerRoutes() {
	s.handle("/redfish/v1/Managers", &resource{get: func(*http.Request) (any, error) {
		ids := s.ids()
		for i, id := range ids {
			ids[i] = managerPath(id)
		}
		return collection("ManagerCollection", "Manager Collection", "/redfish/v1/Managers", ids), nil
	}})
	s.handle("/redfish/v1/Managers/{sys}", &resource{get: s.getManager})
	s.handle("/redfish/v1/Managers/{sys}/ResetActionInfo", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Manager")
		if err != nil {
			return nil, err
		}
		return resetActionInfo(managerPath(m.ID())+"/ResetActionInfo", managerResetTypes), nil
	}})
	s.handle("/redfish/v1/Managers/{sys}/Actions/Manager.Reset", &resource{
		postPriv: auth.PrivConfigureManager,
		post:     s.resetManager,
	})
	s.handle("/redfish/v1/Managers/{sys}/NetworkProtocol", &resource{get: s.getNetworkProtocol})
	s.auditLogRoutes()
	s.managerEthernetRoutes()
}

// identity is the identity of system id's BMC (hardware.DeriveIdentity
// from the installation UUID), the one IPMI reports too.
func (s *Service) identity(id string) hardware.Identity {
	return hardware.DeriveIdentity(s.cfg.UUID, id)
}

func (s *Service) getManager(r *http.Request) (any, error) {
	m, err := s.machine(r, "Manager")
	if err != nil {
		return nil, err
	}
	id := m.ID()
	path := managerPath(id)
	return M{
		"@odata.type":           "#Manager.v1_24_0.Manager",
		"@odata.id":             path,
		"Id":                    id,
		"Name":                  "Manager for system " + id,
		"ManagerType":           "BMC",
		"Manufacturer":          "bmcd",
		"Model":                 "bmcd",
		"FirmwareVersion":       s.cfg.Version,
		"UUID":                  s.identity(id).ManagerUUID,
		"ServiceEntryPointUUID": s.cfg.UUID,
		"PowerState":            "On",
		"Status":                enabledStatus(),
		"DateTime":              s.clock().UTC().Format(timeFormat),
		"DateTimeLocalOffset":   "+00:00",
		"NetworkProtocol":       link{path + "/NetworkProtocol"},
		"LogServices":           link{path + "/LogServices"},
		"EthernetInterfaces":    link{path + "/EthernetInterfaces"},
		"VirtualMedia":          link{path + "/VirtualMedia"},
		"GraphicalConsole":      s.graphicalConsole(m, false),
		"Links": M{
			"ManagerForServers": []link{{systemPath(id)}},
			"ManagerForChassis": []link{{chassisPath(id)}},
			"ManagerInChassis":  link{chassisPath(id)},
		},
		"Actions": M{
			"#Manager.Reset": M{
				"target":                            path + "/Actions/Manager.Reset",
				"@Redfish.ActionInfo":               path + "/ResetActionInfo",
				"ResetType@Redfish.AllowableValues": managerResetTypes,
			},
		},
	}, nil
}

// resetManager restarts this system's management: nothing the host sees,
// but it is logged. ResetType is optional for Manager.Reset.
func (s *Service) resetManager(w http.ResponseWriter, r *http.Request) error {
	m, err := s.machine(r, "Manager")
	if err != nil {
		return err
	}
	const action = "Manager.Reset"
	var b struct {
		ResetType *string `json:"ResetType" validate:"omitempty,oneof=ForceRestart GracefulRestart"`
	}
	if _, err := decodeBody(r, &b, bodyKind{action: action}); err != nil {
		return err
	}
	rt := hardware.ResetGracefulRestart // bmcd's default: nothing the host sees either way
	if b.ResetType != nil {
		rt = hardware.ResetType(*b.ResetType)
	}
	m.LogEvent(hardware.Event{Kind: hardware.EventReset, Severity: hardware.SeverityOK,
		Message: "Manager reset requested over Redfish", ResetType: rt})
	s.record(r, audit.ManagerReset(m.ID(), string(rt)))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) getNetworkProtocol(r *http.Request) (any, error) {
	m, err := s.machine(r, "ManagerNetworkProtocol")
	if err != nil {
		return nil, err
	}
	v := M{
		"@odata.type": "#ManagerNetworkProtocol.v1_12_0.ManagerNetworkProtocol",
		"@odata.id":   managerPath(m.ID()) + "/NetworkProtocol",
		"Id":          "NetworkProtocol",
		"Name":        "Manager Network Protocol",
		"Status":      enabledStatus(),
	}
	web := M{"ProtocolEnabled": s.cfg.HTTPPort > 0, "Port": s.cfg.HTTPPort}
	if s.cfg.TLS {
		v["HTTPS"] = web
		v["HTTP"] = M{"ProtocolEnabled": false}
	} else {
		v["HTTP"] = web
		v["HTTPS"] = M{"ProtocolEnabled": false}
	}
	if p, ok := s.ipmiPort(m.ID()); ok {
		v["IPMI"] = M{"ProtocolEnabled": true, "Port": p}
	} else {
		v["IPMI"] = M{"ProtocolEnabled": false}
	}
	if p, ok := s.vncPort(m); ok {
		v["KVMIP"] = M{"ProtocolEnabled": true, "Port": p}
	} else {
		v["KVMIP"] = M{"ProtocolEnabled": false}
	}
	return v, nil
}

// vncPort is where m's graphical console listens; ok is false when m has
// no screen or no VNC listener.
func (s *Service) vncPort(m *hardware.Machine) (int, bool) {
	if s.cfg.VNCPort == nil {
		return 0, false
	}
	p, ok := s.cfg.VNCPort(m.ID())
	return p, ok && m.Capabilities().Display
}

// graphicalConsole is m's KVM-IP service, as a Manager (GraphicalConsole)
// or a ComputerSystem (HostGraphicalConsole, withPort) shows it: true to
// what listens.
func (s *Service) graphicalConsole(m *hardware.Machine, withPort bool) M {
	p, ok := s.vncPort(m)
	if !ok {
		return M{"ServiceEnabled": false, "MaxConcurrentSessions": 0, "ConnectTypesSupported": []string{}}
	}
	c := M{"ServiceEnabled": true, "MaxConcurrentSessions": s.cfg.GraphicalSessions, "ConnectTypesSupported": []string{"KVMIP"}}
	if withPort {
		c["Port"] = p
	}
	return c
}
