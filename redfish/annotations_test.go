package redfish

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Annotations are ignored at every depth of a request body (DSP0266), as
// clients send back objects as they read them.
func TestDecodeBodyIgnoresNestedAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		target     string // Boot.BootSourceOverrideTarget after decoding
		order      string // Boot.BootOrder
		err        string // MessageId suffix, "" for success
	}{
		{"gofish SetBoot", `{"Boot":{"BootSourceOverrideTarget":"Cd","BootSourceOverrideTarget@Redfish.AllowableValues":["None","Cd"],` +
			`"UefiTargetBootSourceOverride@Redfish.AllowableValues":["a","b"],"BootOrder":["Boot0002","Boot0001"]}}`, "Cd", "[Boot0002 Boot0001]", ""},
		{"object of annotations only", `{"Boot":{"@odata.type":"#x","BootSourceOverrideTarget@Redfish.AllowableValues":[]}}`, "", "[]", ""},
		{"escaped at", `{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideTarget\u0040Redfish.AllowableValues":["Pxe"]}}`, "Pxe", "[]", ""},
		{"annotation holding unknown members", `{"Boot":{"Nope@Redfish.X":{"Deep":{"a":1}},"BootSourceOverrideTarget":"Hdd"}}`, "Hdd", "[]", ""},
		{"top and nested", `{"@odata.etag":"x","Boot@Redfish.Y":1,"Boot":{"BootNext@odata.type":"x","BootSourceOverrideTarget":"Usb"}}`, "Usb", "[]", ""},
		{"unknown member still refused", `{"Boot":{"BootSourceOverrideTarget@Redfish.AllowableValues":[],"Bogus":1}}`, "", "", "PropertyUnknown"},
		{"type errors still found", `{"Boot":{"BootSourceOverrideTarget@Redfish.AllowableValues":[],"BootOrder":"Boot0001"}}`, "", "", "PropertyValueTypeError"},
		{"annotation value not a type error", `{"Boot":{"BootOrder@Redfish.AllowableValues":"x","BootOrder":[]}}`, "", "[]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p systemPatch
			_, err := decodeBody(httptest.NewRequest("PATCH", "/", strings.NewReader(tc.body)), &p,
				bodyKind{readOnly: func(n string) bool { return systemReadOnly[n] }})
			if tc.err != "" {
				ae, ok := err.(*apiError)
				if !ok || ae.msgs[0].MessageID != baseMessagePrefix+tc.err {
					t.Fatalf("err %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil || p.Boot == nil {
				t.Fatalf("err %v, Boot %v", err, p.Boot)
			}
			target, order := "", "[]"
			if p.Boot.BootSourceOverrideTarget != nil {
				target = *p.Boot.BootSourceOverrideTarget
			}
			if p.Boot.BootOrder != nil {
				order = fmt.Sprint(*p.Boot.BootOrder)
			}
			if target != tc.target || order != tc.order {
				t.Errorf("target %q order %s, want %q %s", target, order, tc.target, tc.order)
			}
		})
	}
}

// Stripping keeps numbers' text and leaves members without annotations
// as they were sent.
func TestStripNestedAnnotations(t *testing.T) {
	top := map[string]json.RawMessage{
		"A": json.RawMessage(`{"x@odata.type":"t","n":1.0,"big":12345678901234567890,"list":[{"y@Redfish.Z":1,"m":-0}]}`),
		"B": json.RawMessage(`{ "n" : 1.0 }`),
		"C": json.RawMessage(`"an @ in a string"`),
	}
	if !stripNestedAnnotations(top) {
		t.Fatal("nothing stripped")
	}
	for k, want := range map[string]string{
		"A": `{"big":12345678901234567890,"list":[{"m":-0}],"n":1.0}`,
		"B": `{ "n" : 1.0 }`,
		"C": `"an @ in a string"`,
	} {
		if string(top[k]) != want {
			t.Errorf("%s = %s, want %s", k, top[k], want)
		}
	}
	if stripNestedAnnotations(map[string]json.RawMessage{"A": json.RawMessage(`{"a":{"b":[1,"@"]}}`)}) {
		t.Error("stripped a body without annotations")
	}
}

// A Boot object PATCHed back as it was read, annotations included (but
// without its BootOptions link, which no client sends back), is accepted.
func TestPatchBootAsRead(t *testing.T) {
	e := newEnv(t)
	boot := e.get(sys0).obj()["Boot"].(map[string]any)
	if boot["BootSourceOverrideTarget@Redfish.AllowableValues"] == nil || boot[writeableKey] == nil {
		t.Fatalf("Boot without annotations: %v", boot)
	}
	delete(boot, "BootOptions")
	boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"] = "Pxe", "Continuous"
	e.patch(sys0, M{"Boot": boot, "@odata.etag": "ignored"}).want(http.StatusNoContent)
	got := e.get(sys0).obj()["Boot"].(map[string]any)
	if got["BootSourceOverrideTarget"] != "Pxe" || got["BootSourceOverrideEnabled"] != "Continuous" {
		t.Errorf("after the PATCH: %v", got)
	}
}
