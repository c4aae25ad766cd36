package redfish

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/internal/audit"
)

// The message registries bmcd uses, served under /redfish/v1/Registries:
// DMTF's Base (errors), ResourceEvent, LogService and ManagerEvent (events),
// Update (the progress and outcome of firmware updates in their Tasks'
// Messages), and bmcd's own Bmcd registry for machine events no DMTF
// registry describes (boots, NMIs, virtual media, boot overrides).
//
//go:embed registry/*.json
var registryFiles embed.FS

// messageRegistry is one embedded registry.
type messageRegistry struct {
	ID       string // "ResourceEvent.1.4.3"
	Prefix   string // "ResourceEvent"
	Version  string // "1.4.3"
	Name     string
	Owner    string // OwningEntity: "DMTF", or "bmcd"
	raw      []byte
	messages map[string]registryMessage
}

// registries lists every registry served, Base first, then those of the
// events and those of the audit log (internal/audit) not already listed.
var registries = func() []*messageRegistry {
	var out []*messageRegistry
	add := func(f string, raw []byte) {
		var doc struct {
			ID       string                     `json:"Id"`
			Name     string                     `json:"Name"`
			Prefix   string                     `json:"RegistryPrefix"`
			Version  string                     `json:"RegistryVersion"`
			Owner    string                     `json:"OwningEntity"`
			Messages map[string]registryMessage `json:"Messages"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.ID != f {
			panic(fmt.Sprintf("embedded registry %s: %v (Id %q)", f, err, doc.ID))
		}
		for _, r := range out {
			if r.Prefix == doc.Prefix {
				if r.ID != doc.ID {
					panic("registry " + doc.Prefix + " embedded twice: " + r.ID + " and " + doc.ID)
				}
				return
			}
		}
		out = append(out, &messageRegistry{ID: doc.ID, Prefix: doc.Prefix, Version: doc.Version, Name: doc.Name,
			Owner: doc.Owner, raw: raw, messages: doc.Messages})
	}
	for _, f := range []string{"Base.1.22.1", "ResourceEvent.1.4.3", "LogService.1.1.0", "ManagerEvent.1.0.0", "Update.1.3.0", "Bmcd.1.0.0"} {
		raw, err := registryFiles.ReadFile("registry/" + f + ".json")
		if err != nil {
			panic("embedded registry: " + err.Error())
		}
		add(f, raw)
	}
	for _, r := range audit.Registries() {
		add(r.ID, r.JSON)
	}
	return out
}()

func registryByPrefix(prefix string) *messageRegistry {
	for _, r := range registries {
		if r.Prefix == prefix {
			return r
		}
	}
	return nil
}

// messagePrefix is how the registry's MessageIds start: the prefix and the
// major.minor version, as the Redfish MessageId format has it
// ("ResourceEvent.1.4.").
func (r *messageRegistry) messagePrefix() string {
	parts := strings.SplitN(r.Version, ".", 3)
	return r.Prefix + "." + parts[0] + "." + parts[1] + "."
}

// registryText is a registry message filled with its arguments.
type registryText struct {
	ID         string   // MessageId, e.g. "ResourceEvent.1.4.ResourcePoweredOn"
	Message    string   // the text with the arguments in place
	Args       []string // exactly as many as the message takes
	Severity   string   // MessageSeverity: OK, Warning or Critical
	Resolution string
}

// fill fills message key with args, held to the registry's argument
// count. An unknown key is a programming error and panics.
func (r *messageRegistry) fill(key string, args ...string) registryText {
	rm, ok := r.messages[key]
	if !ok {
		panic("registry " + r.ID + " has no message " + key)
	}
	n := rm.NumberOfArgs
	args = append(append([]string{}, args[:min(len(args), n)]...), make([]string, max(0, n-len(args)))...)
	text := rm.Message
	for i := len(args); i >= 1; i-- { // %10 before %1
		text = strings.ReplaceAll(text, fmt.Sprintf("%%%d", i), args[i-1])
	}
	return registryText{ID: r.messagePrefix() + key, Message: text, Args: args, Severity: rm.MessageSeverity, Resolution: rm.Resolution}
}

// updateRegistry is DMTF's Update registry; updateMessagePrefix starts
// its MessageIds.
var updateRegistry = registryByPrefix("Update")

const updateMessagePrefix = "Update.1.3."

// updateMessage fills an Update registry message with its arguments, for
// a Task's Messages, in one pass as newMessage does (an argument is often
// a URL, which may hold "%1").
func updateMessage(key string, args ...string) message {
	rm, ok := updateRegistry.messages[key]
	if !ok { // a programming error; never fail the response over it
		return newMessage("GeneralError")
	}
	return fillMessage(updateRegistry.messagePrefix(), key, rm, args)
}

// registryFilePath is the MessageRegistryFile of a message registry (by
// prefix) or of an attribute registry (by Id).
func registryFilePath(id string) string { return "/redfish/v1/Registries/" + id }

// registryRoutes serves the message registries and each BIOS attribute
// registry, one MessageRegistryFile each.
func (s *Service) registryRoutes() {
	attrs := s.attributeRegistries()
	findAttr := func(id string) *attrRegistry {
		for _, ar := range attrs {
			if ar.reg.ID() == id {
				return ar
			}
		}
		return nil
	}
	members := make([]string, 0, len(registries)+len(attrs))
	for _, r := range registries {
		members = append(members, registryFilePath(r.Prefix))
	}
	for _, r := range attrs {
		members = append(members, registryFilePath(r.reg.ID()))
	}
	s.handle("/redfish/v1/Registries", &resource{get: func(*http.Request) (any, error) {
		return collection("MessageRegistryFileCollection", "Registry File Collection", "/redfish/v1/Registries", members), nil
	}})
	s.handle("/redfish/v1/Registries/{reg}", &resource{get: func(r *http.Request) (any, error) {
		id := chi.URLParam(r, "reg")
		if ar := findAttr(id); ar != nil {
			return attributeRegistryFile(ar), nil
		}
		reg := registryByPrefix(id)
		if reg == nil {
			return nil, notFound("MessageRegistryFile", id)
		}
		loc := M{"Language": "en", "Uri": registryFilePath(reg.Prefix) + "/" + reg.Prefix}
		if reg.Owner == "DMTF" {
			loc["PublicationUri"] = "https://redfish.dmtf.org/registries/" + reg.ID + ".json"
		}
		return M{
			"@odata.type": "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
			"@odata.id":   registryFilePath(reg.Prefix),
			"Id":          reg.Prefix,
			"Name":        reg.Name + " File",
			"Registry":    strings.TrimSuffix(reg.messagePrefix(), "."),
			"Languages":   []string{"en"},
			"Location":    []M{loc},
		}, nil
	}})
	s.handle("/redfish/v1/Registries/{reg}/{file}", &resource{get: func(r *http.Request) (any, error) {
		id, file := chi.URLParam(r, "reg"), chi.URLParam(r, "file")
		if ar := findAttr(id); ar != nil && file == ar.reg.Name {
			return attributeRegistryDocument(ar), nil
		}
		reg := registryByPrefix(id)
		if reg == nil || file != reg.Prefix {
			return nil, apiErr(http.StatusNotFound, "ResourceMissingAtURI", r.URL.Path)
		}
		return rawDocument{"application/json; charset=utf-8", reg.raw}, nil
	}})
}
