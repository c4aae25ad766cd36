package kvm

import (
	"context"
	"net/http"
)

func withSystem(ctx context.Context, sys *System) context.Context {
	return context.WithValue(ctx, systemKey{}, sys)
}

// SystemOf is the System a console request is for (the {SystemId} of its
// path); nil outside the console's handlers.
func SystemOf(r *http.Request) *System {
	sys, _ := r.Context().Value(systemKey{}).(*System)
	return sys
}
