package web

import (
	"net/http"

	"github.com/bmcd/bmcd/internal/auth"
)

// user is who a page is shown to, and what its controls may do: the
// Redfish privileges of the operations behind them.
type user struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Session is the session's Id ("" with Basic credentials).
	Session string `json:"session"`
	// Control: keyboard, mouse, serial input, power, the identify LED
	// (ConfigureComponents: Operator, Administrator).
	Control bool `json:"control"`
	// Media: uploading images, inserting and ejecting virtual media
	// (ConfigureManager: Administrator).
	Media bool `json:"media"`
}

func userOf(p auth.Principal) user {
	return user{Name: p.Account.UserName, Role: string(p.Account.Role), Session: p.Session,
		Control: auth.Authorize(p, auth.PrivConfigureComponents) == nil,
		Media:   auth.Authorize(p, auth.PrivConfigureManager) == nil}
}

// system is what a page knows of a machine without asking Redfish.
type system struct {
	ID       string `json:"id"`
	HostName string `json:"hostName"`
	Model    string `json:"model"`
	// Console: it has a console (kvm) at /kvm/{id}/.
	Console  bool `json:"console"`
	Display  bool `json:"display"`
	Keyboard bool `json:"keyboard"`
	Pointer  bool `json:"pointer"`
	Serial   bool `json:"serial"`
	// VNC: /kvm/{id}/vnc serves RFB over a WebSocket, and the build
	// embeds noVNC to show it.
	VNC bool `json:"vnc"`
}

// system describes the system named name (its Id or an alias).
func (h *Handler) system(name string) (system, bool) {
	m, ok := h.fleet.Machine(name)
	if !ok {
		return system{}, false
	}
	id := m.ID()
	info, caps := m.Info(), m.Capabilities()
	s := system{ID: id, HostName: info.HostName, Model: info.Model}
	if h.cfg.Console != nil && h.cfg.Console.System(id) != nil {
		novnc, _ := h.vendored()
		s.Console, s.Display, s.Keyboard, s.Pointer = true, caps.Display, caps.Keyboard, caps.Pointer
		s.Serial = m.Console().Available()
		s.VNC = novnc && s.Display && h.cfg.Console.Serves("vnc")
	}
	return s, true
}

// pageData is what the page templates get; Config is handed to the
// page's script as JSON.
type pageData struct {
	Title   string
	User    user
	Missing []string // vendored libraries the build lacks
	Config  any
}

func (h *Handler) missing() []string {
	novnc, xterm := h.vendored()
	var out []string
	if !novnc {
		out = append(out, "noVNC (@novnc/novnc)")
	}
	if !xterm {
		out = append(out, "xterm.js (@xterm/xterm)")
	}
	return out
}

// serveIndex is every system at a glance.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	machines := h.fleet.Machines()
	systems := make([]system, 0, len(machines))
	for _, m := range machines {
		s, _ := h.system(m.ID())
		systems = append(systems, s)
	}
	u := userOf(p)
	h.render(w, http.StatusOK, "index.html", pageData{Title: "All systems", User: u,
		Config: map[string]any{"user": u, "systems": systems}})
}

// serveMachine is one machine's console; 404 for an unknown system.
func (h *Handler) serveMachine(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	s, ok := h.system(r.PathValue("sys"))
	if !ok {
		http.Error(w, "no such system", http.StatusNotFound)
		return
	}
	_, xterm := h.vendored()
	u := userOf(p)
	title := "System " + s.ID
	if s.HostName != "" {
		title += " (" + s.HostName + ")"
	}
	h.render(w, http.StatusOK, "machine.html", pageData{Title: title, User: u, Missing: h.missing(),
		Config: map[string]any{"user": u, "system": s, "xterm": xterm}})
}
