package main

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/images"
	"github.com/bmcd/bmcd/redfish"
)

// Where the image store (kvm/images) is served, beside Redfish on the same
// listener: its API, behind the HTTP front door, and the capability URLs
// a backend fetches an inserted image from, without credentials.
const (
	imagesPath = "/images/"
	mediaPath  = "/media/"
)

// openImages opens the image store in STATE_DIR/images. An image is in use
// (neither deleted nor replaced) while a media slot of any machine holds
// its URL, inserted or not.
func openImages(stateDir string, maxSize int64, fleet *hardware.Fleet, log *slog.Logger) (*images.Store, error) {
	var st *images.Store
	inUse := func(name string) bool {
		for _, m := range fleet.Machines() {
			for _, md := range m.Media() {
				if n, ok := st.NameOf(md.Image); ok && n == name {
					return true
				}
			}
		}
		return false
	}
	st, err := images.Open(filepath.Join(stateDir, "images"), images.Options{
		MaxSize: maxSize, InUse: inUse, Path: imagesPath, MediaPath: mediaPath, Log: log,
	})
	return st, err
}

// withImages serves the image store in front of next (the Redfish
// service): the API under imagesPath through gate (GET and HEAD need
// Login, as reading Redfish does; PUT, POST and DELETE need
// ConfigureManager, as InsertMedia does), the image URLs under mediaPath
// with no credentials (the token in the path is the capability). Every
// other path goes to next untouched.
func withImages(next http.Handler, st *images.Store, gate *auth.Gate) http.Handler {
	api := st.Handler()
	read := gate.Require(auth.PrivLogin)(api)
	write := gate.Require(auth.PrivConfigureManager)(api)
	media := st.MediaHandler()
	root := strings.TrimSuffix(imagesPath, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == root || strings.HasPrefix(p, imagesPath):
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				read.ServeHTTP(w, r)
				return
			}
			write.ServeHTTP(w, r)
		case strings.HasPrefix(p, mediaPath):
			media.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// frontDoor is the gate of every HTTP endpoint beside Redfish (the image
// store, the console): the Redfish session table and login limiter, and
// the tokens browsers carry (the console's cookie, a WebSocket
// subprotocol).
func frontDoor(accounts *auth.Accounts, sessions *auth.Sessions, logins *auth.Limiter[auth.LoginKey], log *slog.Logger) *auth.Gate {
	return &auth.Gate{
		Accounts: accounts, Sessions: sessions, Logins: logins, Tokens: auth.BrowserTokens,
		OnLoginFailure: func(r *http.Request, user string, err error) {
			log.Info("authentication failed", "user", user, "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		},
	}
}

// storedImages is redfish.Config.StoredImages: the store's images with
// their URLs as the client reached bmcd.
func storedImages(st *images.Store) func(*http.Request) []redfish.StoredImage {
	return func(r *http.Request) []redfish.StoredImage {
		origin := images.RequestOrigin(r)
		var out []redfish.StoredImage
		for _, img := range st.List() {
			u, err := st.URL(origin, img.Name)
			if err != nil {
				continue // deleted meanwhile
			}
			out = append(out, redfish.StoredImage{Name: img.Name, URL: u, ISO9660: img.MediaType == images.MediaISO9660,
				Size: img.Size, SHA256: img.SHA256})
		}
		return out
	}
}
