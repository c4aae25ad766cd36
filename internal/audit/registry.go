package audit

import (
	"embed"
	"encoding/json"
	"path"
	"sort"
	"strings"
)

// The DMTF registries (DSP8011) the log's messages come from.
//
//go:embed registry/*.json
var registryFiles embed.FS

// Registry is one message registry file, as Redfish serves it under
// /redfish/v1/Registries.
type Registry struct {
	ID      string // "AccountSecurity.1.0.1"
	Prefix  string // "AccountSecurity"
	Version string // "1.0.1"
	JSON    []byte // the file as DMTF publishes it
}

type registryMessage struct {
	Message         string `json:"Message"`
	MessageSeverity string `json:"MessageSeverity"`
	NumberOfArgs    int    `json:"NumberOfArgs"`
}

var (
	registries []Registry
	// messages is keyed by "Prefix.Major.Minor.Key", the MessageId form.
	messages = map[string]registryMessage{}
)

func init() {
	files, err := registryFiles.ReadDir("registry")
	if err != nil {
		panic("embedded registries: " + err.Error())
	}
	for _, f := range files {
		raw, err := registryFiles.ReadFile(path.Join("registry", f.Name()))
		if err != nil {
			panic("embedded registry: " + err.Error())
		}
		var reg struct {
			ID       string                     `json:"Id"`
			Prefix   string                     `json:"RegistryPrefix"`
			Version  string                     `json:"RegistryVersion"`
			Messages map[string]registryMessage `json:"Messages"`
		}
		if err := json.Unmarshal(raw, &reg); err != nil {
			panic("embedded registry " + f.Name() + ": " + err.Error())
		}
		registries = append(registries, Registry{ID: reg.ID, Prefix: reg.Prefix, Version: reg.Version, JSON: raw})
		for k, m := range reg.Messages {
			messages[messagePrefix(reg.Prefix, reg.Version)+k] = m
		}
	}
	sort.Slice(registries, func(i, j int) bool { return registries[i].Prefix < registries[j].Prefix })
}

// messagePrefix is "Prefix.Major.Minor.": MessageIds carry no errata
// number.
func messagePrefix(prefix, version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return prefix + "." + version + "."
	}
	return prefix + "." + parts[0] + "." + parts[1] + "."
}

// Registries lists the registries the log's messages come from.
func Registries() []Registry { return append([]Registry(nil), registries...) }

func lookup(id string) (registryMessage, bool) {
	m, ok := messages[id]
	return m, ok
}

// msg builds a Message of the registry with the given prefix.
func msg(prefix, key string, args ...string) Message {
	for _, r := range registries {
		if r.Prefix == prefix {
			return Message{ID: messagePrefix(r.Prefix, r.Version) + key, Args: args}
		}
	}
	return Message{ID: prefix + ".0.0." + key, Args: args} // not embedded: a programming error, caught by the tests
}
