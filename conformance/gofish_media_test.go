package conformance

import (
	"testing"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// TestGofishMediaNotInserted inserts an image with Inserted false through
// gofish's InsertMedia, inserts it later with VirtualMedia.Update (a PATCH
// of Inserted alone, the image not sent again), takes the medium away the
// same way, and ejects it.
func TestGofishMediaNotInserted(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	img := serveImage(t)
	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	const path = "/redfish/v1/Systems/0/VirtualMedia/CD"
	cd := getMedia(t, c, path)
	no := false
	if task, err := cd.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{
		Image: img.URL, Inserted: &no, WriteProtected: &no,
	}); err != nil || task != nil {
		t.Fatalf("InsertMedia Inserted false: task %v, err %v", task, err)
	}
	hits := img.Hits()
	if hits == 0 {
		t.Error("InsertMedia succeeded without checking the image")
	}
	want := func(when string, inserted, wp bool) *schemas.VirtualMedia {
		t.Helper()
		cd := getMedia(t, c, path)
		if deref(cd.Inserted) != inserted || deref(cd.WriteProtected) != wp || cd.Image != img.URL ||
			cd.ImageName != "boot.iso" || cd.ConnectedVia != schemas.URIConnectedVia {
			t.Errorf("%s: Inserted %v, WriteProtected %v, Image %q, ImageName %q, ConnectedVia %q; want Inserted %v, WriteProtected %v",
				when, deref(cd.Inserted), deref(cd.WriteProtected), cd.Image, cd.ImageName, cd.ConnectedVia, inserted, wp)
		}
		return cd
	}
	cd = want("after InsertMedia Inserted false", false, false)

	yes := true
	cd.Inserted = &yes
	if err := cd.Update(); err != nil {
		t.Fatalf("Update Inserted true: %v", err)
	}
	cd = want("after Update Inserted true", true, false)
	if img.Hits() == hits {
		t.Error("the held image was inserted without being checked again")
	}
	cd.Inserted, cd.WriteProtected = &no, &yes
	if err := cd.Update(); err != nil {
		t.Fatalf("Update Inserted false, WriteProtected true: %v", err)
	}
	cd = want("after Update Inserted false", false, true)

	if task, err := cd.EjectMedia(); err != nil || task != nil {
		t.Fatalf("EjectMedia: task %v, err %v", task, err)
	}
	if cd = getMedia(t, c, path); deref(cd.Inserted) != false || cd.Image != "" || cd.ConnectedVia != schemas.NotConnectedConnectedVia {
		t.Errorf("after EjectMedia: Inserted %v, Image %q, ConnectedVia %q", deref(cd.Inserted), cd.Image, cd.ConnectedVia)
	}
}
