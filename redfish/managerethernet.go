package redfish

import (
	"context"
	"net"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5"
)

// The BMC's own network interface, one per Manager: the address bmcd is
// reached at (the local end of the request's connection, so the address of
// whichever interface the client came in on) and the BMC's MAC address
// (hardware.Identity.ManagerMAC, which IPMI's LAN configuration reports
// too). bmcd shares the host's NICs, so the MAC is not one a switch sees;
// it is stable and unique per manager, which is what inventory tools key
// on.

const managerNICID = "eth0"

func (s *Service) managerEthernetRoutes() {
	s.handle("/redfish/v1/Managers/{sys}/EthernetInterfaces", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Manager")
		if err != nil {
			return nil, err
		}
		base := managerPath(m.ID()) + "/EthernetInterfaces"
		return collection("EthernetInterfaceCollection", "Manager Ethernet Interface Collection", base,
			[]string{base + "/" + managerNICID}), nil
	}})
	s.handle("/redfish/v1/Managers/{sys}/EthernetInterfaces/{nic}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Manager")
		if err != nil {
			return nil, err
		}
		if id := chi.URLParam(r, "nic"); id != managerNICID {
			return nil, notFound("EthernetInterface", id)
		}
		mac := s.identity(m.ID()).ManagerMAC.String()
		v := M{
			"@odata.type":         "#EthernetInterface.v1_12_4.EthernetInterface",
			"@odata.id":           managerPath(m.ID()) + "/EthernetInterfaces/" + managerNICID,
			"Id":                  managerNICID,
			"Name":                "Manager Ethernet Interface",
			"Description":         "The network interface bmcd serves this manager on",
			"MACAddress":          mac,
			"PermanentMACAddress": mac,
			"InterfaceEnabled":    true,
			"LinkStatus":          "LinkUp",
			"Status":              enabledStatus(),
			"IPv4Addresses":       []M{},
			"IPv6Addresses":       []M{},
		}
		if ip, ok := localAddr(r.Context()); ok {
			bits := interfaceBits(ip)
			if ip.Is4() {
				a := M{"Address": ip.String()}
				if bits >= 0 {
					a["SubnetMask"] = net.IP(net.CIDRMask(bits, 32)).String()
				}
				v["IPv4Addresses"] = []M{a}
			} else {
				a := M{"Address": ip.String()}
				if bits >= 0 {
					a["PrefixLength"] = bits
				}
				v["IPv6Addresses"] = []M{a}
			}
		}
		return v, nil
	}})
}

// localAddr is the IP address the request's connection arrived at, if the
// server recorded it; an unspecified or zoned address is not reported.
func localAddr(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip, true
}

// interfaceBits is the prefix length of the host interface address ip is
// configured with, or -1 if no interface has it.
func interfaceBits(ip netip.Addr) int {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return -1
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return p.Bits()
		}
	}
	return -1
}
