package redfish

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// arrivedAt makes the request look as if it came in on a connection to
// addr, as net/http records it.
func arrivedAt(addr net.Addr) reqOpt {
	return func(r *http.Request) {
		*r = *r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
	}
}

func TestManagerEthernetInterface(t *testing.T) {
	e := newEnv(t)
	const mgr = "/redfish/v1/Managers/0"
	if at(e.get(mgr).obj(), "EthernetInterfaces", "@odata.id") != mgr+"/EthernetInterfaces" {
		t.Fatal("Manager does not link EthernetInterfaces")
	}
	coll := e.get(mgr + "/EthernetInterfaces").obj()
	if coll["Members@odata.count"] != 1.0 || at(coll, "Members", 0, "@odata.id") != mgr+"/EthernetInterfaces/eth0" {
		t.Fatalf("collection %v", coll)
	}
	nic := e.get(mgr + "/EthernetInterfaces/eth0").obj()
	mac, _ := nic["MACAddress"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`).MatchString(mac) || nic["PermanentMACAddress"] != mac {
		t.Fatalf("MAC %q", mac)
	}
	var first byte
	if _, err := fmt.Sscanf(mac[:2], "%02x", &first); err != nil || first&0x03 != 0x02 {
		t.Errorf("MAC %s is not locally administered unicast", mac)
	}
	if other := e.get("/redfish/v1/Managers/1/EthernetInterfaces/eth0").obj()["MACAddress"]; other == mac {
		t.Error("two managers share a MAC")
	}
	if again := e.get(mgr + "/EthernetInterfaces/eth0").obj()["MACAddress"]; again != mac {
		t.Error("MAC not stable")
	}
	// The BMC's identity, which IPMI reports too.
	id := hardware.DeriveIdentity(e.svc.cfg.UUID, "0")
	if mac != id.ManagerMAC.String() || at(e.get(mgr).obj(), "UUID") != id.ManagerUUID {
		t.Errorf("MAC %s, UUID %v; want the identity %+v", mac, at(e.get(mgr).obj(), "UUID"), id)
	}
	if v4, v6 := nic["IPv4Addresses"].([]any), nic["IPv6Addresses"].([]any); len(v4) != 0 || len(v6) != 0 {
		t.Errorf("addresses without a connection: %v %v", v4, v6)
	}
	// The address the request arrived at, with the interface's prefix.
	v4 := e.get(mgr+"/EthernetInterfaces/eth0", arrivedAt(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443})).obj()
	if at(v4, "IPv4Addresses", 0, "Address") != "127.0.0.1" || at(v4, "IPv4Addresses", 0, "SubnetMask") != "255.0.0.0" {
		t.Errorf("IPv4 %v", v4["IPv4Addresses"])
	}
	v6 := e.get(mgr+"/EthernetInterfaces/eth0", arrivedAt(&net.TCPAddr{IP: net.IPv6loopback, Port: 8443})).obj()
	if at(v6, "IPv6Addresses", 0, "Address") != "::1" || len(v6["IPv4Addresses"].([]any)) != 0 {
		t.Errorf("IPv6 %v", v6["IPv6Addresses"])
	}
	// An address no interface has (behind NAT, in a test) has no prefix.
	far := e.get(mgr+"/EthernetInterfaces/eth0", arrivedAt(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 99), Port: 8443})).obj()
	if at(far, "IPv4Addresses", 0, "Address") != "192.0.2.99" || at(far, "IPv4Addresses", 0, "SubnetMask") != nil {
		t.Errorf("unknown interface %v", far["IPv4Addresses"])
	}
	e.get(mgr+"/EthernetInterfaces/eth1").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get("/redfish/v1/Managers/9/EthernetInterfaces").wantError(http.StatusNotFound, "ResourceNotFound")
}
