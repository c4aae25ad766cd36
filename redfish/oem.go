package redfish

import (
	_ "embed"
	"net/http"
)

// bmcd's OEM extensions. Every object bmcd puts under Oem carries an
// @odata.type of the bmcd namespace, and the CSDL that defines those types
// (each a Resource.OemObject) is served at oemSchemaURI and referenced from
// $metadata, so validators (the DMTF Service Validator downloads every
// local Reference of $metadata) can resolve and check them.

const (
	oemName      = "bmcd"
	oemVersion   = "v1_0_0"
	oemSchemaURI = "/redfish/v1/Schemas/bmcd_v1.xml"
)

//go:embed csdl/bmcd_v1.xml
var oemSchema []byte

// oem is an Oem property holding bmcd's extension props of the given type
// (a ComplexType of csdl/bmcd_v1.xml): {"bmcd": {"@odata.type":
// "#bmcd.v1_0_0.<typ>", ...}}.
func oem(typ string, props M) M {
	v := M{"@odata.type": "#" + oemName + "." + oemVersion + "." + typ}
	for k, x := range props {
		v[k] = x
	}
	return M{oemName: v}
}

func (s *Service) oemSchemaRoutes() {
	// Public, as $metadata that references it is.
	s.handle(oemSchemaURI, &resource{public: true, get: func(*http.Request) (any, error) {
		return rawDocument{"application/xml", oemSchema}, nil
	}})
}
