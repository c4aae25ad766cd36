package input

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bmcd/bmcd/hardware"
)

func TestDecodeMessage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want command
	}{
		{`{"t":"key","code":"KeyA","down":true}`, keyCmd{hardware.KeyA, true}},
		{`{"t":"key","code":"ShiftLeft","down":false,"key":"Shift","extra":1}`, keyCmd{hardware.KeyLeftShift, false}},
		{`{"t":"mouse","x":0,"y":32767}`, moveCmd{true, 0, 32767}},
		{`{"t":"mouse","dx":-5,"dy":7}`, moveCmd{false, -5, 7}},
		{`{"t":"mouse","dx":3}`, moveCmd{false, 3, 0}},
		{`{"t":"buttons","mask":5}`, buttonsCmd{hardware.ButtonLeft | hardware.ButtonMiddle}},
		{`{"t":"buttons","mask":0}`, buttonsCmd{0}},
		{`{"t":"wheel","dy":-2}`, wheelCmd{0, -2}},
		{`{"t":"wheel","dx":1,"dy":3}`, wheelCmd{1, 3}},
		{`{"t":"chord","codes":["ControlLeft","AltLeft","Delete"]}`, chordCmd{[]hardware.KeyCode{0xE0, 0xE2, 0x4C}}},
		{`{"t":"paste","text":"zähler\n","layout":"de"}`, pasteCmd{"zähler\n", "de"}},
		{`{"t":"paste","text":""}`, pasteCmd{"", ""}},
		{`{"t":"takeover"}`, takeoverCmd{}},
		{`{"t":"release"}`, releaseCmd{}},
	} {
		got, err := decodeMessage([]byte(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	long, _ := json.Marshal(strings.Repeat("a", MaxPasteBytes+1))
	for _, tc := range []struct{ in, want string }{
		{``, "malformed"},
		{`{`, "malformed"},
		{`[1]`, "malformed"},
		{`null`, `"t" is required`},
		{`{}`, `"t" is required`},
		{`{"t":1}`, "malformed"},
		{`{"t":"reboot"}`, `unknown message type "reboot"`},
		{`{"t":"key","code":"KeyA"}`, `"down"`},
		{`{"t":"key","code":"Fn","down":true}`, `unknown code "Fn"`},
		{`{"t":"key","code":"KeyA","down":"yes"}`, "malformed"},
		{`{"t":"mouse","x":1}`, "either x and y"},
		{`{"t":"mouse"}`, "either x and y"},
		{`{"t":"mouse","x":1,"y":2,"dx":3}`, "either x and y"},
		{`{"t":"mouse","x":-1,"y":0}`, "0..32767"},
		{`{"t":"mouse","x":0,"y":32768}`, "0..32767"},
		{`{"t":"mouse","x":1.5,"y":0}`, "malformed"},
		{`{"t":"mouse","x":1e400,"y":0}`, "malformed"},
		{`{"t":"mouse","dx":-9223372036854775808}`, "-32767..32767"},
		{`{"t":"buttons"}`, `"mask"`},
		{`{"t":"buttons","mask":32}`, `"mask"`},
		{`{"t":"buttons","mask":-1}`, `"mask"`},
		{`{"t":"wheel","dy":128}`, "detents"},
		{`{"t":"chord","codes":[]}`, "1..8 keys"},
		{`{"t":"chord","codes":["KeyA","KeyB","KeyC","KeyD","KeyE","KeyF","KeyG","KeyH","KeyI"]}`, "1..8 keys"},
		{`{"t":"chord","codes":["ControlLeft","Nope"]}`, `unknown code "Nope"`},
		{`{"t":"paste"}`, `"text" is required`},
		{`{"t":"paste","text":"x","layout":"dvorak"}`, "unknown keyboard layout"},
		{`{"t":"paste","text":` + string(long) + `}`, "longer than"},
	} {
		got, err := decodeMessage([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.60s = %#v, %v; want an error with %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzDecodeMessage: any input decodes to a command within the protocol's
// bounds or to an error, never a panic. Seeds are in
// testdata/fuzz/FuzzDecodeMessage.
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"t":"key","code":"KeyA","down":true}`))
	f.Add([]byte(`{"t":"mouse","x":100,"y":200}`))
	f.Add([]byte(`{"t":"chord","codes":["ControlLeft","AltLeft","Delete"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := decodeMessage(data)
		if (cmd == nil) == (err == nil) {
			t.Fatalf("decodeMessage(%q) = %#v, %v", data, cmd, err)
		}
		switch c := cmd.(type) {
		case keyCmd:
			if !c.key.Valid() {
				t.Fatalf("invalid key %#v", c)
			}
		case moveCmd:
			if c.abs && (c.x < 0 || c.x > hardware.PointerMax || c.y < 0 || c.y > hardware.PointerMax) ||
				!within(c.x, hardware.PointerMax) || !within(c.y, hardware.PointerMax) {
				t.Fatalf("move out of range %#v", c)
			}
		case buttonsCmd:
			if c.mask&^allButtons != 0 {
				t.Fatalf("buttons %#v", c)
			}
		case wheelCmd:
			if !within(c.dx, maxWheel) || !within(c.dy, maxWheel) {
				t.Fatalf("wheel %#v", c)
			}
		case chordCmd:
			if len(c.keys) == 0 || len(c.keys) > MaxChordKeys {
				t.Fatalf("chord %#v", c)
			}
			for _, k := range c.keys {
				if !k.Valid() {
					t.Fatalf("chord key %#v", c)
				}
			}
		case pasteCmd:
			if len(c.text) > MaxPasteBytes || !utf8.ValidString(c.text) {
				t.Fatalf("paste %d bytes", len(c.text))
			}
			if _, err := LayoutByName(c.layout); err != nil {
				t.Fatalf("paste layout %q", c.layout)
			}
		}
	})
}
