package ipmi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// Network functions.
const (
	NetFnChassis = 0x00
	NetFnApp     = 0x06
)

// Completion codes (Table 5-2).
const (
	CCOK                 = 0x00
	CCNodeBusy           = 0xC0
	CCInvalidCommand     = 0xC1
	CCInvalidLUN         = 0xC2
	CCTimeout            = 0xC3
	CCTruncated          = 0xC6
	CCLengthInvalid      = 0xC7
	CCLengthExceeded     = 0xC8
	CCOutOfRange         = 0xC9
	CCNotPresent         = 0xCB
	CCInvalidData        = 0xCC
	CCInsufficientPriv   = 0xD4
	CCNotInPresentState  = 0xD5
	CCSubFnUnavailable   = 0xD6
	CCUnspecified        = 0xFF
	ccParamNotSupported  = 0x80 // boot options: parameter not supported
	ccSetInProgress      = 0x81 // boot options: set in progress already
	ccPrivLevelNotForUsr = 0x80 // Set Session Privilege Level
	ccPrivLevelExceeds   = 0x81
	ccInvalidSessionID   = 0x87 // Close Session
	ccInvalidHandle      = 0x88
)

// request is one IPMI request being handled.
type request struct {
	ctx  context.Context
	s    *Server
	sess *session // nil outside a session
	from netip.AddrPort
	v15  bool // arrived in IPMI v1.5 framing
	msg  rmcp.Request
	priv Privilege // effective privilege of the session
	now  time.Time

	closeAfter bool // close the session once the response is sent
	noAnswer   bool // send nothing (e.g. the session just went away)
}

type handler func(r *request) (cc byte, data []byte)

// command is an entry of the command table.
type command struct {
	name string
	// priv is the minimum privilege (Table G-1).
	priv Privilege
	// sessionless commands also run outside a session.
	sessionless bool
	// mutating commands change state; retransmissions are answered from
	// a cache rather than executed twice.
	mutating bool
	fn       handler
}

func cmdKey(netfn, cmd byte) uint16 { return uint16(netfn)<<8 | uint16(cmd) }

// commands is the command table: everything not in it answers C1h.
var commands map[uint16]*command

func init() {
	commands = map[uint16]*command{}
	reg := func(netfn, cmd byte, c command) { commands[cmdKey(netfn, cmd)] = &c }
	// App.
	reg(NetFnApp, 0x01, command{name: "Get Device ID", priv: PrivUser, fn: getDeviceID})
	reg(NetFnApp, 0x02, command{name: "Cold Reset", priv: PrivAdmin, mutating: true, fn: coldReset})
	reg(NetFnApp, 0x03, command{name: "Warm Reset", priv: PrivAdmin, mutating: true, fn: warmReset})
	reg(NetFnApp, 0x04, command{name: "Get Self Test Results", priv: PrivUser, fn: getSelfTest})
	reg(NetFnApp, 0x07, command{name: "Get ACPI Power State", priv: PrivUser, fn: getACPIPowerState})
	reg(NetFnApp, 0x08, command{name: "Get Device GUID", priv: PrivUser, fn: getDeviceGUID})
	reg(NetFnApp, 0x37, command{name: "Get System GUID", priv: PrivCallback, sessionless: true, fn: getSystemGUID})
	reg(NetFnApp, 0x38, command{name: "Get Channel Authentication Capabilities", priv: PrivCallback, sessionless: true, fn: getChannelAuthCaps})
	reg(NetFnApp, 0x39, command{name: "Get Session Challenge", priv: PrivCallback, sessionless: true, fn: getSessionChallenge})
	reg(NetFnApp, 0x3A, command{name: "Activate Session", priv: PrivCallback, fn: activateSession})
	reg(NetFnApp, 0x3B, command{name: "Set Session Privilege Level", priv: PrivUser, fn: setSessionPrivilege})
	reg(NetFnApp, 0x3C, command{name: "Close Session", priv: PrivCallback, fn: closeSession})
	reg(NetFnApp, 0x3D, command{name: "Get Session Info", priv: PrivUser, fn: getSessionInfo})
	reg(NetFnApp, 0x41, command{name: "Get Channel Access", priv: PrivUser, fn: getChannelAccess})
	reg(NetFnApp, 0x42, command{name: "Get Channel Info", priv: PrivUser, fn: getChannelInfo})
	reg(NetFnApp, 0x43, command{name: "Set User Access", priv: PrivAdmin, mutating: true, fn: setUserAccess})
	reg(NetFnApp, 0x44, command{name: "Get User Access", priv: PrivOperator, fn: getUserAccess})
	reg(NetFnApp, 0x45, command{name: "Set User Name", priv: PrivAdmin, mutating: true, fn: setUserName})
	reg(NetFnApp, 0x46, command{name: "Get User Name", priv: PrivOperator, fn: getUserName})
	reg(NetFnApp, 0x47, command{name: "Set User Password", priv: PrivAdmin, mutating: true, fn: setUserPassword})
	reg(NetFnApp, 0x54, command{name: "Get Channel Cipher Suites", priv: PrivCallback, sessionless: true, fn: getChannelCipherSuites})
	// Chassis.
	reg(NetFnChassis, 0x00, command{name: "Get Chassis Capabilities", priv: PrivUser, fn: getChassisCapabilities})
	reg(NetFnChassis, 0x01, command{name: "Get Chassis Status", priv: PrivUser, fn: getChassisStatus})
	reg(NetFnChassis, 0x02, command{name: "Chassis Control", priv: PrivOperator, mutating: true, fn: chassisControl})
	reg(NetFnChassis, 0x04, command{name: "Chassis Identify", priv: PrivOperator, mutating: true, fn: chassisIdentify})
	reg(NetFnChassis, 0x07, command{name: "Get System Restart Cause", priv: PrivUser, fn: getRestartCause})
	reg(NetFnChassis, 0x08, command{name: "Set System Boot Options", priv: PrivOperator, mutating: true, fn: setBootOptions})
	reg(NetFnChassis, 0x09, command{name: "Get System Boot Options", priv: PrivOperator, fn: getBootOptions})
	reg(NetFnChassis, 0x06, command{name: "Set Power Restore Policy", priv: PrivOperator, mutating: true, fn: setPowerRestorePolicy})
	// Sensor/Event.
	reg(netFnSensor, 0x23, command{name: "Get Sensor Reading Factors", priv: PrivUser, fn: getSensorReadingFactors})
	reg(netFnSensor, 0x27, command{name: "Get Sensor Thresholds", priv: PrivUser, fn: getSensorThresholds})
	reg(netFnSensor, 0x2D, command{name: "Get Sensor Reading", priv: PrivUser, fn: getSensorReading})
	// Storage: FRU, SDR repository, SEL.
	reg(netFnStorage, 0x10, command{name: "Get FRU Inventory Area Info", priv: PrivUser, fn: getFRUAreaInfo})
	reg(netFnStorage, 0x11, command{name: "Read FRU Data", priv: PrivUser, fn: readFRUData})
	reg(netFnStorage, 0x12, command{name: "Write FRU Data", priv: PrivOperator, mutating: true, fn: writeFRUData})
	reg(netFnStorage, 0x20, command{name: "Get SDR Repository Info", priv: PrivUser, fn: getSDRRepoInfo})
	reg(netFnStorage, 0x21, command{name: "Get SDR Repository Allocation Info", priv: PrivUser, fn: getSDRRepoAllocInfo})
	reg(netFnStorage, 0x22, command{name: "Reserve SDR Repository", priv: PrivUser, fn: reserveSDR})
	reg(netFnStorage, 0x23, command{name: "Get SDR", priv: PrivUser, fn: getSDR})
	reg(netFnStorage, 0x40, command{name: "Get SEL Info", priv: PrivUser, fn: getSELInfo})
	reg(netFnStorage, 0x41, command{name: "Get SEL Allocation Info", priv: PrivUser, fn: getSELAllocInfo})
	reg(netFnStorage, 0x42, command{name: "Reserve SEL", priv: PrivUser, fn: reserveSEL})
	reg(netFnStorage, 0x43, command{name: "Get SEL Entry", priv: PrivUser, fn: getSELEntry})
	reg(netFnStorage, 0x47, command{name: "Clear SEL", priv: PrivOperator, mutating: true, fn: clearSEL})
	reg(netFnStorage, 0x48, command{name: "Get SEL Time", priv: PrivUser, fn: getSELTime})
	reg(netFnStorage, 0x49, command{name: "Set SEL Time", priv: PrivOperator, mutating: true, fn: setSELTime})
	reg(netFnStorage, 0x5C, command{name: "Get SEL Time UTC Offset", priv: PrivUser, fn: getSELTimeUTCOffset})
	// Transport.
	reg(netFnTransport, 0x01, command{name: "Set LAN Configuration Parameters", priv: PrivAdmin, mutating: true, fn: setLANConfig})
	reg(netFnTransport, 0x02, command{name: "Get LAN Configuration Parameters", priv: PrivOperator, fn: getLANConfig})
	// Serial over LAN (sol.go).
	reg(netFnTransportSOL, 0x21, command{name: "Set SOL Configuration Parameters", priv: PrivAdmin, mutating: true, fn: setSOLConfig})
	reg(netFnTransportSOL, 0x22, command{name: "Get SOL Configuration Parameters", priv: PrivUser, fn: getSOLConfig})
	reg(NetFnApp, 0x48, command{name: "Activate Payload", priv: PrivUser, mutating: true, fn: activatePayload})
	reg(NetFnApp, 0x49, command{name: "Deactivate Payload", priv: PrivUser, mutating: true, fn: deactivatePayload})
	reg(NetFnApp, 0x4A, command{name: "Get Payload Activation Status", priv: PrivUser, fn: getPayloadActivationStatus})
	reg(NetFnApp, 0x4B, command{name: "Get Payload Instance Info", priv: PrivUser, fn: getPayloadInstanceInfo})
	reg(NetFnApp, 0x4D, command{name: "Get User Payload Access", priv: PrivOperator, fn: getUserPayloadAccess})
	reg(NetFnApp, 0x4E, command{name: "Get Channel Payload Support", priv: PrivUser, fn: getChannelPayloadSupport})
	reg(NetFnApp, 0x4F, command{name: "Get Channel Payload Version", priv: PrivUser, fn: getChannelPayloadVersion})
}

// dispatch runs one request and returns the IPMI response message, or nil
// when nothing is to be sent.
func (s *Server) dispatch(r *request) []byte {
	m := r.msg
	if m.NetFn&1 != 0 {
		return nil // a response: not for us
	}
	respond := func(cc byte, data []byte) []byte {
		if s.log.Enabled(r.ctx, slog.LevelDebug) {
			var id uint32
			if r.sess != nil {
				id = r.sess.id
			}
			s.log.Debug("ipmi command", "session", id, "netfn", m.NetFn, "cmd", fmt.Sprintf("%#02x", m.Cmd), "cc", fmt.Sprintf("%#02x", cc))
		}
		return rmcp.ResponseTo(m, cc, data).Append(nil)
	}
	if m.RsLUN != 0 {
		return respond(CCInvalidLUN, nil)
	}
	c := commands[cmdKey(m.NetFn, m.Cmd)]
	if c == nil {
		return respond(CCInvalidCommand, nil)
	}
	if r.sess == nil {
		if !c.sessionless {
			return respond(CCInsufficientPriv, nil)
		}
	} else {
		priv, ok := s.effectivePrivilege(r.sess)
		if !ok {
			// The account was deleted, disabled or renamed: the session
			// ends here.
			r.closeAfter = true
			return respond(CCInsufficientPriv, nil)
		}
		r.priv = priv
		if priv < c.priv {
			return respond(CCInsufficientPriv, nil)
		}
	}
	var key string
	if c.mutating && r.sess != nil {
		key = fmt.Sprintf("%d/%d/%d/%x", m.RqSeq, m.NetFn, m.Cmd, m.Data)
		if resp := r.sess.cached(key, r.now); resp != nil {
			return resp
		}
	}
	cc, data := c.fn(r)
	if r.noAnswer {
		return nil
	}
	if cc != CCOK {
		data = nil
	}
	resp := respond(cc, data)
	if key != "" {
		// Kept from the answer on: a retransmission that waited behind a
		// long command (the session's packets are handled one at a time)
		// is still answered from the cache, not carried out again.
		r.sess.remember(key, time.Now(), resp)
	}
	return resp
}

// effectivePrivilege is the session's current privilege bounded by its
// user's present role: a role change through Redfish applies at once, and
// a deleted, disabled or renamed account ends its sessions.
func (s *Server) effectivePrivilege(sess *session) (Privilege, bool) {
	acct, ok := s.accounts.Get(sess.userID)
	if !ok || !acct.Enabled || acct.Locked || acct.UserName != sess.userName {
		return PrivNone, false
	}
	return min(sess.priv, rolePrivilege(acct.Role)), true
}

// rolePrivilege is a shared account role's IPMI privilege limit
// (auth.IPMIPrivilege holds the map).
func rolePrivilege(r auth.Role) Privilege { return Privilege(auth.IPMIPrivilege(r)) }

// privilegeRole is the role of an IPMI user privilege limit
// (auth.RoleForIPMIPrivilege).
func privilegeRole(p Privilege) (auth.Role, bool) { return auth.RoleForIPMIPrivilege(uint8(p)) }

// machineCC maps a machine model error to a completion code.
func machineCC(err error) byte {
	switch {
	case err == nil:
		return CCOK
	case errors.Is(err, hardware.ErrNotSupported):
		return CCSubFnUnavailable
	case errors.Is(err, hardware.ErrState), errors.Is(err, hardware.ErrBusy):
		return CCNotInPresentState
	case errors.Is(err, hardware.ErrInvalid), errors.Is(err, hardware.ErrNotFound):
		return CCInvalidData
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return CCTimeout
	case errors.Is(err, hardware.ErrUnavailable):
		return CCNodeBusy // the backend failed: "temporarily unable to process"
	}
	return CCUnspecified
}
