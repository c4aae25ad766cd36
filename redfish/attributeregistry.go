package redfish

import (
	"reflect"
	"strings"

	"github.com/bmcd/bmcd/hardware"
)

// attrRegistry is one BIOS attribute registry served under
// /redfish/v1/Registries, with the machines whose firmware it describes.
type attrRegistry struct {
	reg      hardware.BiosRegistry
	machines []*hardware.Machine
}

// attributeRegistries groups the machines by the ID of their firmware's
// attribute registry, in machine order. Backends promise that one ID
// means one set of attributes; if two disagree the first is served and
// the conflict logged.
func (s *Service) attributeRegistries() []*attrRegistry {
	var out []*attrRegistry
	byID := map[string]*attrRegistry{}
	for _, m := range s.fleet.Machines() {
		id := m.ID()
		reg := m.BiosRegistry()
		if r, ok := byID[reg.ID()]; ok {
			if !reflect.DeepEqual(r.reg, reg) {
				s.log.Warn("BIOS attribute registries of one ID differ; serving the first", "registry", reg.ID(), "system", id)
			}
			r.machines = append(r.machines, m)
			continue
		}
		r := &attrRegistry{reg: reg, machines: []*hardware.Machine{m}}
		byID[reg.ID()] = r
		out = append(out, r)
	}
	return out
}

// attributeRegistryFile is the MessageRegistryFile of an attribute
// registry (the Redfish home of any registry, DSP0266 §Registries), whose
// Location is the AttributeRegistry document itself, as bmcweb and Dell do.
func attributeRegistryFile(ar *attrRegistry) M {
	id := ar.reg.ID()
	major, rest, _ := strings.Cut(ar.reg.Version, ".")
	minor, _, _ := strings.Cut(rest, ".")
	return M{
		"@odata.type": "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
		"@odata.id":   registryFilePath(id),
		"Id":          id,
		"Name":        "BIOS Attribute Registry File",
		"Description": "The attributes of the BIOS settings (Systems/{id}/Bios) and the values each takes.",
		"Registry":    ar.reg.Name + "." + major + "." + minor,
		"Languages":   []string{"en"},
		"Location": []M{{
			"Language": "en",
			"Uri":      registryFilePath(id) + "/" + ar.reg.Name,
		}},
	}
}

// attributeRegistryDocument renders a registry as an AttributeRegistry
// (AttributeRegistry.v1_4_0): each attribute's type, display name, help
// text, factory value (omitted when there is none or it is "", as the DMTF
// Service Validator warns a service should omit what it does not support),
// read-only flag, allowed values (Enumeration), bounds and step (Integer),
// lengths (String).
func attributeRegistryDocument(ar *attrRegistry) M {
	attrs := make([]M, 0, len(ar.reg.Attributes))
	for i, a := range ar.reg.Attributes {
		e := M{
			"AttributeName": a.Name,
			"Type":          a.Type,
			"DisplayName":   a.DisplayName,
			"HelpText":      a.HelpText,
			"ReadOnly":      a.ReadOnly,
			"ResetRequired": true, // settings apply at the next boot
			"DisplayOrder":  i + 1,
		}
		if a.Default != nil && a.Default != "" {
			e["DefaultValue"] = a.Default
		}
		switch a.Type {
		case hardware.AttrEnumeration:
			vs := make([]M, len(a.Values))
			for j, v := range a.Values {
				vs[j] = M{"ValueName": v.Name, "ValueDisplayName": v.DisplayName}
			}
			e["Value"] = vs
		case hardware.AttrInteger:
			e["LowerBound"], e["UpperBound"], e["ScalarIncrement"] = a.LowerBound, a.UpperBound, a.ScalarIncrement
		case hardware.AttrString:
			e["MinLength"] = a.MinLength
			if a.MaxLength > 0 {
				e["MaxLength"] = a.MaxLength
			}
		}
		attrs = append(attrs, e)
	}
	var systems []M
	seen := map[[2]string]bool{}
	for _, m := range ar.machines {
		info := m.Info()
		k := [2]string{info.Model, info.BiosVersion}
		if !seen[k] {
			seen[k] = true
			systems = append(systems, M{"ProductName": info.Model, "FirmwareVersion": info.BiosVersion})
		}
	}
	owner := ar.machines[0].Info().Manufacturer
	if owner == "" {
		owner = "bmcd"
	}
	return M{
		"@odata.type":      "#AttributeRegistry.v1_4_0.AttributeRegistry",
		"Id":               ar.reg.ID(),
		"Name":             "BIOS Attribute Registry",
		"Description":      "The BIOS attributes of " + systems[0]["ProductName"].(string) + " and the values each takes.",
		"Language":         "en",
		"OwningEntity":     owner,
		"RegistryVersion":  ar.reg.Version,
		"SupportedSystems": systems,
		"RegistryEntries":  M{"Attributes": attrs},
	}
}
