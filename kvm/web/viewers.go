package web

import (
	"encoding/json"
	"net/http"

	"github.com/bmcd/bmcd/kvm"
	"github.com/bmcd/bmcd/kvm/input"
)

// Viewers is the document GET /kvm/{SystemId}/viewers serves: the
// clients of the machine's input hub (every open console page and VNC
// client, in the order they came; whoever controls is marked) and how
// many video streams are open.
type Viewers struct {
	Clients []input.ClientInfo `json:"clients"`
	// Controller names the client that has control; "" for none.
	Controller string `json:"controller"`
	// Streams is the number of open video viewers (MJPEG streams, VNC
	// connections, snapshots being taken).
	Streams int `json:"streams"`
}

// serveViewers serves Viewers as JSON (Login).
func serveViewers(w http.ResponseWriter, r *http.Request) {
	sys := kvm.SystemOf(r)
	doc := Viewers{Clients: sys.Input.Clients(), Controller: sys.Input.Controller(), Streams: sys.Video.Stats().Viewers}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(doc)
}
