package redfish

import "net/http"

func (s *Service) registryRoutes() {
	// The Base message registry, then each BIOS attribute registry.
	attrs := s.attributeRegistries()
	members := []string{"/redfish/v1/Registries/Base"}
	for _, r := range attrs {
		members = append(members, registryFilePath(r.reg.ID()))
	}
	s.attributeRegistryRoutes(attrs)
	s.handle("/redfish/v1/Registries", &resource{get: func(*http.Request) (any, error) {
		return collection("MessageRegistryFileCollection", "Registry File Collection", "/redfish/v1/Registries", members), nil
	}})
	s.handle("/redfish/v1/Registries/Base", &resource{get: func(*http.Request) (any, error) {
		return M{
			"@odata.type": "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
			"@odata.id":   "/redfish/v1/Registries/Base",
			"Id":          "Base",
			"Name":        "Base Message Registry File",
			"Registry":    "Base.1.22",
			"Languages":   []string{"en"},
			"Location": []M{{
				"Language":       "en",
				"Uri":            "/redfish/v1/Registries/Base/Base",
				"PublicationUri": "https://redfish.dmtf.org/registries/" + baseRegistryID + ".json",
			}},
		}, nil
	}})
	s.handle("/redfish/v1/Registries/Base/Base", &resource{get: func(*http.Request) (any, error) {
		return rawDocument{"application/json; charset=utf-8", baseRegistry}, nil
	}})
}
