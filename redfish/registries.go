package redfish

import (
	"net/http"

	"github.com/bmcd/bmcd/internal/audit"
)

// servedRegistry is a message registry file served under
// /redfish/v1/Registries/{prefix}, with the file itself at .../{prefix}.
type servedRegistry struct {
	prefix, id string // "Base", "Base.1.22.1"
	raw        []byte
}

// registryList is every registry whose MessageIds bmcd sends: Base (errors)
// and those of the audit log's entries.
func registryList() []servedRegistry {
	list := []servedRegistry{{"Base", baseRegistryID, baseRegistry}}
	for _, r := range audit.Registries() {
		list = append(list, servedRegistry{r.Prefix, r.ID, r.JSON})
	}
	return list
}

func (s *Service) registryRoutes() {
	// The message registries, then each BIOS attribute registry.
	list := registryList()
	attrs := s.attributeRegistries()
	members := make([]string, 0, len(list)+len(attrs))
	for _, r := range list {
		members = append(members, "/redfish/v1/Registries/"+r.prefix)
	}
	for _, r := range attrs {
		members = append(members, registryFilePath(r.reg.ID()))
	}
	s.attributeRegistryRoutes(attrs)
	s.handle("/redfish/v1/Registries", &resource{get: func(*http.Request) (any, error) {
		return collection("MessageRegistryFileCollection", "Registry File Collection", "/redfish/v1/Registries", members), nil
	}})
	for _, reg := range list {
		path := "/redfish/v1/Registries/" + reg.prefix
		// MessageIds name the registry by major.minor ("Base.1.22").
		short := reg.id
		if i := lastDot(short); i > 0 {
			short = short[:i]
		}
		s.handle(path, &resource{get: func(*http.Request) (any, error) {
			return M{
				"@odata.type": "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
				"@odata.id":   path,
				"Id":          reg.prefix,
				"Name":        reg.prefix + " Message Registry File",
				"Registry":    short,
				"Languages":   []string{"en"},
				"Location": []M{{
					"Language":       "en",
					"Uri":            path + "/" + reg.prefix,
					"PublicationUri": "https://redfish.dmtf.org/registries/" + reg.id + ".json",
				}},
			}, nil
		}})
		s.handle(path+"/"+reg.prefix, &resource{get: func(*http.Request) (any, error) {
			return rawDocument{"application/json; charset=utf-8", reg.raw}, nil
		}})
	}
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
