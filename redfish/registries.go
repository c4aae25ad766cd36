package redfish

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// updateRegistry is DMTF's Update message registry: the progress and
// outcome of firmware updates in their Tasks' Messages.
//
//go:embed registry/Update.1.3.0.json
var updateRegistry []byte

const (
	updateRegistryID    = "Update.1.3.0"
	updateMessagePrefix = "Update.1.3."
)

var updateMessages = func() map[string]registryMessage {
	var reg struct {
		Messages map[string]registryMessage `json:"Messages"`
	}
	if err := json.Unmarshal(updateRegistry, &reg); err != nil {
		panic("embedded Update registry: " + err.Error())
	}
	return reg.Messages
}()

// updateMessage fills an Update registry message with its arguments.
func updateMessage(key string, args ...string) message {
	rm, ok := updateMessages[key]
	if !ok { // a programming error; never fail the response over it
		return newMessage("GeneralError")
	}
	return fillMessage(updateMessagePrefix, key, rm, args)
}

// servedRegistries are the message registries whose MessageIds bmcd uses.
var servedRegistries = []struct {
	id       string // "Base": the MessageRegistryFile Id
	registry string // "Base.1.22": what MessageIds start with
	file     string // "Base.1.22.1": the published file
	body     []byte
}{
	{"Base", "Base.1.22", baseRegistryID, baseRegistry},
	{"Update", "Update.1.3", updateRegistryID, updateRegistry},
}

func (s *Service) registryRoutes() {
	// The message registries (Base, Update), then each BIOS attribute
	// registry.
	attrs := s.attributeRegistries()
	var members []string
	for _, reg := range servedRegistries {
		members = append(members, "/redfish/v1/Registries/"+reg.id)
	}
	for _, r := range attrs {
		members = append(members, registryFilePath(r.reg.ID()))
	}
	s.attributeRegistryRoutes(attrs)
	s.handle("/redfish/v1/Registries", &resource{get: func(*http.Request) (any, error) {
		return collection("MessageRegistryFileCollection", "Registry File Collection", "/redfish/v1/Registries", members), nil
	}})
	for _, reg := range servedRegistries {
		path := "/redfish/v1/Registries/" + reg.id
		s.handle(path, &resource{get: func(*http.Request) (any, error) {
			return M{
				"@odata.type": "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
				"@odata.id":   path,
				"Id":          reg.id,
				"Name":        reg.id + " Message Registry File",
				"Registry":    reg.registry,
				"Languages":   []string{"en"},
				"Location": []M{{
					"Language":       "en",
					"Uri":            path + "/" + reg.id,
					"PublicationUri": "https://redfish.dmtf.org/registries/" + reg.file + ".json",
				}},
			}, nil
		}})
		s.handle(path+"/"+reg.id, &resource{get: func(*http.Request) (any, error) {
			return rawDocument{"application/json; charset=utf-8", reg.body}, nil
		}})
	}
}
