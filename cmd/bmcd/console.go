package main

import (
	"net/http"

	"github.com/bmcd/bmcd/kvm"
)

// withConsole serves the console (kvm: /kvm/{SystemId}/...) in front of
// next, on the same listener as Redfish and behind the same front door.
func withConsole(next http.Handler, console *kvm.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Owns(r.URL.Path) {
			console.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
