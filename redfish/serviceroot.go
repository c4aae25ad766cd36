package redfish

import (
	"net/http"
	"strings"
)

// RedfishVersion is the specification version bmcd implements.
const RedfishVersion = "1.20.0"

func (s *Service) rootRoutes() {
	s.handle("/redfish", &resource{public: true, get: func(*http.Request) (any, error) {
		return rawDocument{"application/json; charset=utf-8", []byte(`{"v1":"/redfish/v1/"}`)}, nil
	}})
	s.handle("/redfish/v1", &resource{public: true, get: s.getServiceRoot})
	s.handle("/redfish/v1/odata", &resource{public: true, get: func(*http.Request) (any, error) {
		return odataDocument, nil
	}})
	s.handle("/redfish/v1/$metadata", &resource{public: true, get: func(*http.Request) (any, error) {
		return metadataDocument, nil
	}})
	s.oemSchemaRoutes()
}

func (s *Service) getServiceRoot(*http.Request) (any, error) {
	return M{
		"@odata.type":    "#ServiceRoot.v1_20_0.ServiceRoot",
		"@odata.id":      "/redfish/v1/",
		"Id":             "RootService",
		"Name":           "Root Service",
		"RedfishVersion": RedfishVersion,
		"UUID":           s.cfg.UUID,
		"Vendor":         "bmcd",
		"Product":        "bmcd",
		// What query.go serves, exactly (DSP0266 "Query parameters").
		"ProtocolFeaturesSupported": M{
			"ExpandQuery": M{"ExpandAll": true, "Levels": true, "MaxLevels": maxExpandLevels,
				"Links": true, "NoLinks": true},
			"FilterQuery":                   false,
			"SelectQuery":                   true,
			"TopSkipQuery":                  true,
			"OnlyMemberQuery":               true,
			"ExcerptQuery":                  true,
			"IncludeOriginOfConditionQuery": false,
			"DeepOperations":                M{"DeepPATCH": false, "DeepPOST": false},
		},
		"Systems":        link{"/redfish/v1/Systems"},
		"Managers":       link{"/redfish/v1/Managers"},
		"Chassis":        link{"/redfish/v1/Chassis"},
		"SessionService": link{"/redfish/v1/SessionService"},
		"AccountService": link{"/redfish/v1/AccountService"},
		"Registries":     link{"/redfish/v1/Registries"},
		"Tasks":          link{"/redfish/v1/TaskService"}, // ServiceRoot names the TaskService link "Tasks"
		"UpdateService":  link{"/redfish/v1/UpdateService"},
		"EventService":   link{eventServicePath},
		"Links":          M{"Sessions": link{"/redfish/v1/SessionService/Sessions"}},
	}, nil
}

// servedTypes lists every versioned or collection type bmcd serves; the
// $metadata document references their CSDL.
var servedTypes = []string{
	"ServiceRoot.v1_20_0", "ComputerSystemCollection", "ComputerSystem.v1_27_0",
	"ActionInfo.v1_5_0", "Bios.v1_2_3", "SecureBoot.v1_1_2",
	"BootOptionCollection", "BootOption.v1_0_6", "AttributeRegistry.v1_4_0",
	"EthernetInterfaceCollection", "EthernetInterface.v1_12_4",
	"ProcessorCollection", "Processor.v1_22_0", "MemoryCollection", "Memory.v1_23_0",
	"StorageCollection", "Storage.v1_21_0", "DriveCollection", "Drive.v1_22_0", "SimpleStorageCollection", "SimpleStorage.v1_3_2",
	"ManagerCollection", "Manager.v1_24_0", "ManagerNetworkProtocol.v1_12_0",
	"VirtualMediaCollection", "VirtualMedia.v1_6_5", "CertificateCollection", "Certificate.v1_11_0",
	"ChassisCollection", "Chassis.v1_28_0", "Power.v1_7_3", "Thermal.v1_7_3",
	"SensorCollection", "Sensor.v1_12_0",
	"SessionService.v1_2_0", "SessionCollection", "Session.v1_8_0",
	"AccountService.v1_18_1", "ManagerAccountCollection", "ManagerAccount.v1_14_1",
	"RoleCollection", "Role.v1_3_3",
	"MessageRegistryFileCollection", "MessageRegistryFile.v1_1_5", "Message.v1_3_0",
	"TaskService.v1_3_0", "TaskCollection", "Task.v1_7_4",
	"LogServiceCollection", "LogService.v1_9_0", "LogEntryCollection", "LogEntry.v1_21_0",
	// Chassis: the successors of Thermal and Power.
	"ThermalSubsystem.v1_5_0", "FanCollection", "Fan.v1_6_0", "ThermalMetrics.v1_3_2",
	"PowerSubsystem.v1_1_3", "PowerSupplyCollection", "PowerSupply.v1_6_0", "PowerSupplyMetrics.v1_2_0",
	// Storage: controllers and volumes.
	"StorageControllerCollection", "StorageController.v1_11_0", "VolumeCollection", "Volume.v1_10_2",
	// Eventing.
	"EventService.v1_12_0", "EventDestinationCollection", "EventDestination.v1_16_0", "Event.v1_13_0", "MessageRegistry.v1_7_0",
	// Firmware updates.
	"UpdateService.v1_17_0", "SoftwareInventoryCollection", "SoftwareInventory.v1_13_0",
}

var metadataDocument = func() rawDocument {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">` + "\n")
	refAt := func(uri string, namespaces ...string) {
		b.WriteString(`  <edmx:Reference Uri="` + uri + `">` + "\n")
		for _, ns := range namespaces {
			b.WriteString(`    <edmx:Include Namespace="` + ns + `"/>` + "\n")
		}
		b.WriteString("  </edmx:Reference>\n")
	}
	ref := func(file string, namespaces ...string) {
		refAt("http://redfish.dmtf.org/schemas/v1/"+file, namespaces...)
	}
	ref("RedfishExtensions_v1.xml", "RedfishExtensions.v1_0_0")
	ref("Resource_v1.xml", "Resource", "Resource.v1_0_0")
	for _, t := range servedTypes {
		base, _, versioned := strings.Cut(t, ".")
		if versioned {
			ref(base+"_v1.xml", base, t)
		} else {
			ref(base+"_v1.xml", base)
		}
	}
	// bmcd's OEM types (oem.go), served here.
	refAt(oemSchemaURI, oemName, oemName+"."+oemVersion)
	b.WriteString(`  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">
      <EntityContainer Name="Service" Extends="ServiceRoot.v1_20_0.ServiceContainer"/>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`)
	return rawDocument{"application/xml", []byte(b.String())}
}()

var odataDocument = func() rawDocument {
	entries := []struct{ name, url string }{
		{"Service", "/redfish/v1/"}, {"Systems", "/redfish/v1/Systems"},
		{"Managers", "/redfish/v1/Managers"}, {"Chassis", "/redfish/v1/Chassis"},
		{"SessionService", "/redfish/v1/SessionService"}, {"AccountService", "/redfish/v1/AccountService"},
		{"Registries", "/redfish/v1/Registries"}, {"TaskService", "/redfish/v1/TaskService"},
		{"Sessions", "/redfish/v1/SessionService/Sessions"}, {"UpdateService", "/redfish/v1/UpdateService"},
		{"EventService", eventServicePath},
	}
	var b strings.Builder
	b.WriteString(`{"@odata.context":"/redfish/v1/$metadata","value":[`)
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"` + e.name + `","kind":"Singleton","url":"` + e.url + `"}`)
	}
	b.WriteString("]}")
	return rawDocument{"application/json; charset=utf-8", []byte(b.String())}
}()
