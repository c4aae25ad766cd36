package backendconfig

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type disk struct {
	Path string `yaml:"path" validate:"required"`
	Bus  string `yaml:"bus" validate:"omitempty,oneof=virtio sata"`
}

type params struct {
	Delay   time.Duration `yaml:"delay" validate:"min=0,max=1h"`
	On      bool          `yaml:"powered_on"`
	Name    string        `yaml:"name" validate:"omitempty,max=8"`
	Disks   []disk        `yaml:"disks" validate:"dive"`
	Ignored string        `yaml:"-"`
	Count   int           // key "count"
}

// block parses text as the value of a backend block, as the
// configuration loader keeps it.
func block(t *testing.T, text string) Params {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return New("test", &n)
}

func TestDecode(t *testing.T) {
	var p params
	err := block(t, `
delay: 1m30s
powered_on: true
name: web
count: 3
disks:
  - {path: /a.img, bus: virtio}
  - {path: /b.img}
`).Decode(&p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Delay != 90*time.Second || !p.On || p.Name != "web" || p.Count != 3 || len(p.Disks) != 2 || p.Disks[1].Path != "/b.img" {
		t.Fatalf("decoded %+v", p)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for name, b := range map[string]Params{
		"zero":     {},
		"nil node": New("test", nil),
		"null":     block(t, "~"),
		"no text":  block(t, ""),
		"{}":       block(t, "{}"),
		"null key": block(t, "delay:"),
	} {
		p := params{Delay: time.Second}
		if err := b.Decode(&p); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if p.Delay != time.Second {
			t.Errorf("%s: a missing key changed the field: %v", name, p.Delay)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for text, want := range map[string]string{
		"delay: x":                     `test.delay: time: invalid duration "x"`,
		"delay: 5":                     `test.delay: time: missing unit in duration "5"`,
		"delay: [1s]":                  "test.delay: cannot unmarshal !!seq into string",
		"delay: -1s":                   "test.delay: -1s is below the minimum 0",
		"delay: 2h":                    "test.delay: 2h0m0s is above the maximum 1h",
		"delay: -1s\nname: too-long!":  "test.delay: -1s is below the minimum 0; test.name: too-long! is above the maximum 8",
		"powered_on: maybe":            "test.powered_on: cannot unmarshal !!str `maybe` into bool",
		"dleay: 1s":                    "test.dleay: unknown parameter (known: delay, powered_on, name, disks, count)",
		"Ignored: x":                   "test.Ignored: unknown parameter (known: delay, powered_on, name, disks, count)",
		"disks: [{path: /a, size: 1}]": `test.disks: unknown key "size"`,
		"disks: [{bus: ide}]":          "test.disks[0].path: required; test.disks[0].bus: ide is not one of virtio sata",
		"[a, b]":                       "test: want a mapping of parameters, not a list",
		"fast":                         `test: want a mapping of parameters, not "fast"`,
	} {
		var p params
		err := block(t, text).Decode(&p)
		if err == nil {
			t.Errorf("%q: no error", text)
		} else if err.Error() != want {
			t.Errorf("%q:\n got  %v\n want %s", text, err, want)
		}
	}
}

func TestDecodeDuplicateKey(t *testing.T) {
	// yaml.v3 keeps both keys in a node; decoding into a struct refuses them.
	var p params
	if err := block(t, "delay: 1s\ndelay: 2s").Decode(&p); err == nil || err.Error() != "test.delay: given twice" {
		t.Errorf("err = %v", err)
	}
}

func TestDecodeNotAStruct(t *testing.T) {
	var n int
	for _, v := range []any{nil, params{}, &n, (*params)(nil)} {
		if err := block(t, "{}").Decode(v); err == nil {
			t.Errorf("%T: no error", v)
		}
	}
}
