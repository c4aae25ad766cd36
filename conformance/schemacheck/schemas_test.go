package schemacheck

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// schemasDir is the module's vendored copy of the schemas bmcd needs.
const schemasDir = "../../schemas"

// servedRoots are the schemas of the resources bmcd serves; schemasDir holds
// their closure. Refresh with
//
//	BMCD_UPDATE_SCHEMAS=1 go test ./conformance/schemacheck -run TestUpdateSchemas
var servedRoots = []string{
	"ServiceRoot.v1_20_0.json",
	"ComputerSystemCollection.json", "ComputerSystem.v1_27_0.json",
	"Bios.v1_2_3.json", "SecureBoot.v1_1_2.json",
	"BootOptionCollection.json", "BootOption.v1_0_6.json",
	"AttributeRegistry.json", "AttributeRegistry.v1_4_0.json",
	"EthernetInterfaceCollection.json", "EthernetInterface.v1_12_4.json",
	"ProcessorCollection.json", "Processor.v1_22_0.json",
	"MemoryCollection.json", "Memory.v1_23_0.json",
	"ManagerCollection.json", "Manager.v1_24_0.json", "ManagerNetworkProtocol.v1_12_0.json",
	"VirtualMediaCollection.json", "VirtualMedia.v1_6_5.json",
	"ChassisCollection.json", "Chassis.v1_28_0.json", "Power.v1_7_3.json", "Thermal.v1_7_3.json",
	"SessionService.v1_2_0.json", "SessionCollection.json", "Session.v1_8_0.json",
	"AccountService.v1_18_1.json", "ManagerAccountCollection.json", "ManagerAccount.v1_14_1.json",
	"RoleCollection.json", "Role.v1_3_3.json",
	"MessageRegistryFileCollection.json", "MessageRegistryFile.v1_1_5.json", "MessageRegistry.v1_7_0.json",
	"TaskService.v1_3_0.json", "TaskCollection.json", "Task.v1_7_4.json",
	"LogServiceCollection.json", "LogService.v1_9_0.json", "LogEntryCollection.json", "LogEntry.v1_21_0.json",
	"ActionInfo.v1_5_0.json",
	"EventService.v1_12_0.json", "EventDestinationCollection.json", "EventDestination.v1_16_0.json", "Event.v1_13_0.json",
	"SensorCollection.json", "Sensor.v1_12_0.json",
	"redfish-error.v1_0_2.json",
}

// TestUpdateSchemas regenerates schemasDir from the DMTF bundle.
func TestUpdateSchemas(t *testing.T) {
	if os.Getenv("BMCD_UPDATE_SCHEMAS") != "1" {
		t.Skip("set BMCD_UPDATE_SCHEMAS=1 to refresh " + schemasDir)
	}
	if _, err := os.Stat(sharedSchemas); err != nil {
		t.Fatalf("DMTF schemas not available: %v", err)
	}
	old, err := filepath.Glob(filepath.Join(schemasDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := CopyClosure(sharedSchemas, schemasDir, servedRoots...); err != nil {
		t.Fatal(err)
	}
}

// TestSchemasDirIsComplete checks that schemasDir is self-contained: it is
// exactly the closure of servedRoots and, when the DMTF bundle is available,
// an up-to-date copy of it (which TestMockupValidates compiles). Without the
// bundle, every served type is compiled from schemasDir instead (slow under
// -race: the Redfish schemas form one big reference cycle through links).
func TestSchemasDirIsComplete(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(schemasDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	closure, err := Closure(schemasDir, servedRoots...)
	if err != nil {
		t.Fatalf("Closure(%s): %v", schemasDir, err)
	}
	if !slices.Equal(closure, files) {
		t.Errorf("%s holds files outside the closure of servedRoots:\n have %v\n want %v", schemasDir, files, closure)
	}
	if _, err := os.Stat(filepath.Join(schemasDir, "LICENSE.md")); err != nil {
		t.Errorf("DMTF licence missing: %v", err)
	}
	v, err := Load(schemasDir)
	if err != nil {
		t.Fatalf("Load(%s): %v", schemasDir, err)
	}

	const stale = "; run BMCD_UPDATE_SCHEMAS=1 go test ./conformance/schemacheck -run TestUpdateSchemas"
	if _, err := os.Stat(sharedSchemas); err == nil {
		want, err := Closure(sharedSchemas, servedRoots...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(closure, want) {
			t.Fatalf("%s is not the closure of servedRoots in %s%s", schemasDir, sharedSchemas, stale)
		}
		for _, f := range files {
			a, errA := os.ReadFile(filepath.Join(schemasDir, f))
			b, errB := os.ReadFile(filepath.Join(sharedSchemas, f))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s differs from %s%s", f, sharedSchemas, stale)
			}
		}
		// Prove offline loading works with a type whose closure is small.
		if _, err := v.schema("Role.v1_3_3.json", "/definitions/Role"); err != nil {
			t.Errorf("compile Role.v1_3_3.json: %v", err)
		}
		return
	}
	for _, root := range servedRoots {
		// ComputerSystem.v1_27_0.json#/definitions/ComputerSystem; the
		// error schema has no definition named after it, use its root.
		ptr := "/definitions/" + strings.Split(root, ".")[0]
		if strings.HasPrefix(root, "redfish-") {
			ptr = ""
		}
		if _, err := v.schema(root, ptr); err != nil {
			t.Errorf("compile %s: %v", root, err)
		}
	}
}
