package conformance

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// TestGofishNulls sends explicit nulls with gofish's client: a null that
// would set nothing is 400 PropertyValueTypeError naming it, and changes
// nothing; the nulls the schema gives a meaning are taken (Image: null
// ejects). Then gofish's Update() of objects it read still works: it
// sends the properties changed, never the nulls it read.
func TestGofishNulls(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	img := serveImage(t)
	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	const sys, cd = "/redfish/v1/Systems/0", "/redfish/v1/Managers/0/VirtualMedia/CD"
	for _, tc := range []struct {
		uri, body, ptr string
	}{
		{sys, `{"IndicatorLED":null}`, "/IndicatorLED"},
		{sys, `{"Boot":null}`, "/Boot"},
		{sys, `{"Boot":{"BootSourceOverrideEnabled":null}}`, "/Boot/BootSourceOverrideEnabled"},
		{cd, `{"Inserted":null}`, "/Inserted"},
	} {
		before := getRaw(t, c, tc.uri)
		resp, err := c.Patch(tc.uri, rawJSON(tc.body))
		if resp != nil {
			resp.Body.Close()
		}
		var re *schemas.Error
		if !errors.As(err, &re) || re.HTTPReturnedStatusCode != http.StatusBadRequest || len(re.ExtendedInfos) != 1 ||
			!strings.HasSuffix(re.ExtendedInfos[0].MessageID, ".PropertyValueTypeError") ||
			!reflect.DeepEqual(re.ExtendedInfos[0].MessageArgs, []string{"null", tc.ptr}) {
			t.Errorf("PATCH %s %s: %v; want 400 PropertyValueTypeError [null %s]", tc.uri, tc.body, err, tc.ptr)
		}
		if after := getRaw(t, c, tc.uri); !reflect.DeepEqual(before, after) {
			t.Errorf("PATCH %s %s was refused but changed the resource", tc.uri, tc.body)
		}
	}

	// Image: null ejects, as sushy sends it when a slot has no EjectMedia.
	media := getMedia(t, c, cd)
	yes := true
	if _, err := media.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{Image: img.URL, Inserted: &yes}); err != nil {
		t.Fatalf("InsertMedia: %v", err)
	}
	resp, err := c.Patch(cd, rawJSON(`{"Image":null,"Inserted":false}`))
	if err != nil {
		t.Fatalf("PATCH Image null: %v", err)
	}
	resp.Body.Close()
	if media = getMedia(t, c, cd); media.Image != "" || media.Inserted == nil || *media.Inserted {
		t.Errorf("after PATCH Image null: Image %q, Inserted %v", media.Image, deref(media.Inserted))
	}

	// Update() of objects read, which hold the nulls they were read with.
	s := getSystem(t, c, sys)
	s.LocationIndicatorActive = true
	if err := s.Update(); err != nil {
		t.Errorf("ComputerSystem Update: %v", err)
	}
	ch, err := schemas.GetChassis(c, "/redfish/v1/Chassis/0")
	if err != nil {
		t.Fatal(err)
	}
	ch.IndicatorLED = schemas.OffIndicatorLED
	if err := ch.Update(); err != nil {
		t.Errorf("Chassis Update: %v", err)
	}
	media = getMedia(t, c, cd)
	media.VerifyCertificate = !media.VerifyCertificate
	if err := media.Update(); err != nil {
		t.Errorf("VirtualMedia Update: %v", err)
	}
	ss, err := schemas.GetSessionService(c, "/redfish/v1/SessionService")
	if err != nil {
		t.Fatal(err)
	}
	ss.SessionTimeout = 600
	if err := ss.Update(); err != nil {
		t.Errorf("SessionService Update: %v", err)
	}
	if ss, _ = schemas.GetSessionService(c, "/redfish/v1/SessionService"); ss == nil || ss.SessionTimeout != 600 {
		t.Errorf("SessionTimeout after Update: %+v", ss)
	}
}

// rawJSON is a body gofish marshals as it is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// getRaw reads a resource as a JSON object.
func getRaw(t *testing.T, c *gofish.APIClient, uri string) map[string]any {
	t.Helper()
	var m map[string]any
	resp, err := c.Get(uri)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	return m
}
