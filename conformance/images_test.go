package conformance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImageStoreBootsFromCD drives the image store as a user does: curl -T
// uploads an ISO (and curl -C resumes another), the InsertMedia ActionInfo
// lists the stored image with its URL, Redfish InsertMedia inserts that URL
// into the simulated machine's CD slot (the backend fetches it from bmcd
// without credentials), and the firmware boots it, as the event log says.
// An image in a slot cannot be deleted; listing needs a login, uploading
// ConfigureManager.
func TestImageStoreBootsFromCD(t *testing.T) {
	t.Parallel()
	requireClient(t, "curl", func() error { _, err := exec.LookPath("curl"); return err })
	b := startBMC(t, bmcOpts{Systems: 1})
	dir := t.TempDir()
	iso := filepath.Join(dir, "boot.iso")
	if err := os.WriteFile(iso, isoImage, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(isoImage)
	want := hex.EncodeToString(sum[:])

	// curl prints the body, then the status on a line of its own.
	curl := func(args ...string) (status int, body string) {
		t.Helper()
		out, code := runClient(t, time.Minute, "curl", append([]string{"-sSk", "-w", "\nstatus=%{http_code}"}, args...)...)
		if code != 0 {
			t.Fatalf("curl %v exited %d:\n%s", args, code, out)
		}
		i := strings.LastIndex(out, "\nstatus=")
		if i < 0 {
			t.Fatalf("curl %v: %s", args, out)
		}
		fmt.Sscan(out[i+len("\nstatus="):], &status)
		return status, out[:i]
	}
	admin := b.User + ":" + b.Password
	type entry struct {
		Name, SHA256, URL, MediaType string
		Size                         int64
	}
	parse := func(body string) entry {
		t.Helper()
		var e entry
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return e
	}

	// Upload with curl -T.
	st, body := curl("-u", admin, "-T", iso, b.URL+"/images/boot.iso")
	if st != http.StatusCreated {
		t.Fatalf("curl -T: %d %s", st, body)
	}
	e := parse(body)
	if e.Name != "boot.iso" || e.SHA256 != want || e.Size != int64(len(isoImage)) || e.MediaType != "iso9660" ||
		!strings.HasPrefix(e.URL, b.URL+"/media/") || !strings.HasSuffix(e.URL, "/boot.iso") {
		t.Fatalf("entry %+v", e)
	}

	// Resume: the first 100000 bytes, then curl -C sends the rest with
	// Content-Range.
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPut, Path: "/images/resumed.iso", Body: isoImage[:100000],
		Header: map[string]string{"Content-Range": fmt.Sprintf("bytes 0-99999/%d", len(isoImage)), "Content-Type": "application/octet-stream"}})
	st, body = curl("-u", admin, "-C", "100000", "-T", iso, b.URL+"/images/resumed.iso")
	if r := parse(body); st != http.StatusCreated || r.SHA256 != want {
		t.Fatalf("curl -C: %d %s", st, body)
	}

	// Who may do what: the listing needs a login, uploading and deleting
	// ConfigureManager; the image's URL needs nothing but its token.
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts",
		Body: map[string]any{"UserName": "viewer", "Password": "Viewer-pass1", "RoleId": "ReadOnly"}})
	if st, _ := curl(b.URL + "/images/"); st != http.StatusUnauthorized {
		t.Errorf("anonymous listing: %d", st)
	}
	st, body = curl("-u", "viewer:Viewer-pass1", b.URL+"/images/")
	var list struct{ Images []entry }
	if err := json.Unmarshal([]byte(body), &list); st != http.StatusOK || err != nil || len(list.Images) != 2 || list.Images[0] != e {
		t.Errorf("listing: %d %s", st, body)
	}
	// A Redfish session opens the store too (one session table).
	sess := b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/SessionService/Sessions",
		Body: map[string]any{"UserName": "viewer", "Password": "Viewer-pass1"}, NoAuth: true})
	if st, body := curl("-H", "X-Auth-Token: "+sess.Header.Get("X-Auth-Token"), b.URL+"/images/"); st != http.StatusOK {
		t.Errorf("listing with a Redfish session: %d %s", st, body)
	}
	if st, _ := curl("-H", "X-Auth-Token: nope", b.URL+"/images/"); st != http.StatusUnauthorized {
		t.Errorf("listing with a dead token: %d", st)
	}
	if st, _ := curl("-u", "viewer:Viewer-pass1", "-T", iso, b.URL+"/images/other.iso"); st != http.StatusForbidden {
		t.Errorf("ReadOnly upload: %d", st)
	}
	if st, _ := curl("-o", "/dev/null", e.URL); st != http.StatusOK {
		t.Errorf("anonymous GET of the image URL: %d", st)
	}

	// Redfish finds it in the InsertMedia ActionInfo.
	info := b.Get(t, "/redfish/v1/Managers/0/VirtualMedia/CD/InsertMediaActionInfo")
	oem, _ := info["Oem"].(map[string]any)
	ext, _ := oem["bmcd"].(map[string]any)
	stored, _ := ext["StoredImages"].([]any)
	if len(stored) != 2 {
		t.Fatalf("StoredImages %v", info["Oem"])
	}
	first := stored[0].(map[string]any)
	if first["Name"] != "boot.iso" || first["Image"] != e.URL || first["MediaType"] != "CD" || first["SHA256"] != want {
		t.Errorf("StoredImages[0] %v", first)
	}

	// Insert it, boot it.
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		Body: map[string]any{"Image": first["Image"]}})
	if st, body := curl("-u", admin, "-X", "DELETE", b.URL+"/images/boot.iso"); st != http.StatusConflict {
		t.Errorf("DELETE of an inserted image: %d %s", st, body)
	}
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0",
		Body: map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}}})
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "On"}})
	eventually(t, 15*time.Second, func() (bool, string) {
		ev := lastBootEvent(t, b, "0")
		return strings.Contains(ev, "booting from Cd image "+e.URL), ev
	})

	// Ejected, it can go; its URL goes with it.
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.EjectMedia",
		Body: map[string]any{}})
	if st, body := curl("-u", admin, "-X", "DELETE", b.URL+"/images/boot.iso"); st != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", st, body)
	}
	if st, _ := curl("-o", "/dev/null", e.URL); st != http.StatusNotFound {
		t.Errorf("GET of a deleted image's URL: %d", st)
	}
}
