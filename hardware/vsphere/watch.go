package vsphere

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// watchHandler gets what a watch sees, from the watch's goroutine, one
// call at a time.
type watchHandler interface {
	// entered: a VM came into the view (created, moved in, or first seen
	// in a listing).
	entered(s vmState)
	// changed: a VM's properties changed, or a listing after a reconnect
	// found it again (cur may equal old then).
	changed(old, cur vmState)
	// left: a VM left the view (destroyed, moved out, or missing from a
	// listing after a reconnect).
	left(s vmState)
	// listed: a listing of the whole view is complete: the first one, or
	// the one after a reconnect.
	listed(first bool)
	// down: the connection to vCenter is lost; the watch retries.
	down(err error)
}

// watch keeps the properties of a set of VMs current with one property
// collector and one long poll (WaitForUpdatesEx): the VMs of a
// ContainerView (a discovery's folder, recursively), or a list of VMs
// (the configured systems), one filter each. It lists them at start and
// after every reconnect, and reports each change.
type watch struct {
	conn *conn
	h    watchHandler
	log  *slog.Logger
	// root, for a ContainerView, returns the folder whose VMs,
	// recursively, are watched; nil watches the VMs of refs.
	root func(ctx context.Context, vc *vim25.Client) (types.ManagedObjectReference, error)

	mu      sync.Mutex
	refs    []types.ManagedObjectReference // a list watch's VMs
	restart func()                         // ends the session in progress, for a new list

	vms    map[types.ManagedObjectReference]vmState // the run goroutine's
	cancel context.CancelFunc
	done   chan struct{}
}

// errRestart ends a list watch's session when its list changed: the next
// one watches the new list (filters are not changed while a wait is in
// progress, which vcsim does not support).
var errRestart = errors.New("the list of VMs changed")

// Backoff between reconnection attempts.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// waitSeconds is how long one WaitForUpdatesEx waits for a change: its
// empty answer proves the connection lives, and lets the watch audit its
// VMs (auditEvery).
var waitSeconds int32 = 30

// start runs the watch until stop.
func (w *watch) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	w.vms = map[types.ManagedObjectReference]vmState{}
	go w.run(ctx)
}

// stop ends the watch and waits for its goroutine.
func (w *watch) stop() {
	w.cancel()
	<-w.done
}

func (w *watch) run(ctx context.Context) {
	defer close(w.done)
	first, backoff := true, minBackoff
	for ctx.Err() == nil {
		listed, err := w.session(ctx, first)
		if listed {
			first, backoff = false, minBackoff
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRestart) {
			continue
		}
		w.log.Warn("vsphere watch interrupted; reconnecting", "err", err, "in", backoff)
		w.h.down(err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session watches over one vCenter session until it fails, and reports
// whether it completed a listing.
func (w *watch) session(parent context.Context, first bool) (listed bool, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	w.mu.Lock()
	refs := slices.Clone(w.refs)
	w.restart = cancel
	w.mu.Unlock()
	vc, gen, err := w.conn.get(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		switch {
		case parent.Err() != nil:
		case ctx.Err() != nil:
			err = errRestart
		case err != nil && (isNotAuthenticated(err) || isTransport(err)):
			w.conn.drop(gen, err)
		}
	}()
	pc, err := property.DefaultCollector(vc).Create(ctx)
	if err != nil {
		return false, err
	}
	// audit lists the VMs in the view now, for auditVMs.
	var audit func(context.Context) (map[types.ManagedObjectReference]bool, error)
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = pc.Destroy(dctx) // its filters go with it
	}()
	if w.root != nil {
		root, err := w.root(ctx, vc)
		if err != nil {
			return false, err
		}
		cv, err := view.NewManager(vc).CreateContainerView(ctx, root, []string{"VirtualMachine"}, true)
		if err != nil {
			return false, err
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = cv.Destroy(dctx)
		}()
		audit = func(ctx context.Context) (map[types.ManagedObjectReference]bool, error) {
			var v mo.ContainerView
			if err := property.DefaultCollector(vc).RetrieveOne(ctx, cv.Reference(), []string{"view"}, &v); err != nil {
				return nil, err
			}
			in := map[types.ManagedObjectReference]bool{}
			for _, ref := range v.View {
				in[ref] = true
			}
			return in, nil
		}
		spec := types.PropertyFilterSpec{
			ObjectSet: []types.ObjectSpec{{Obj: cv.Reference(), Skip: types.NewBool(true),
				SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}}}},
			PropSet:                       []types.PropertySpec{{Type: "VirtualMachine", PathSet: vmProps}},
			ReportMissingObjectsInResults: types.NewBool(true),
		}
		if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
			return false, err
		}
	} else {
		// One filter of the VMs (vcsim reports no VM leaving a ListView).
		spec := types.PropertyFilterSpec{
			ObjectSet:                     objectSpecs(refs),
			PropSet:                       []types.PropertySpec{{Type: "VirtualMachine", PathSet: vmProps}},
			ReportMissingObjectsInResults: types.NewBool(true),
		}
		if _, err := pc.CreateFilter(ctx, types.CreateFilter{Spec: spec}); err != nil {
			return false, err
		}
		audit = func(ctx context.Context) (map[types.ManagedObjectReference]bool, error) {
			res, err := property.DefaultCollector(vc).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
				ObjectSet:                     objectSpecs(refs),
				PropSet:                       []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name"}}},
				ReportMissingObjectsInResults: types.NewBool(true),
			}}})
			if err != nil {
				return nil, err
			}
			in := map[types.ManagedObjectReference]bool{}
			for _, oc := range res.Returnval {
				if len(oc.MissingSet) == 0 {
					in[oc.Obj] = true
				}
			}
			return in, nil
		}
	}

	version, syncing, audited := "", true, time.Now()
	listing := map[types.ManagedObjectReference]vmState{}
	for {
		req := types.WaitForUpdatesEx{This: pc.Reference(), Version: version,
			Options: &types.WaitOptions{MaxWaitSeconds: &waitSeconds, MaxObjectUpdates: 250}}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(waitSeconds)*time.Second+30*time.Second)
		res, err := methods.WaitForUpdatesEx(wctx, vc, &req)
		cancel()
		if err != nil {
			return listed, err
		}
		set := res.Returnval
		if set == nil {
			if syncing && version == "" { // an empty view
				syncing, listed = false, true
				w.reconcile(listing, first)
			}
		} else {
			version = set.Version
			for _, fs := range set.FilterSet {
				for _, u := range fs.ObjectSet {
					if syncing {
						collect(listing, u)
					} else {
						w.update(u, w.reread(ctx, vc, u))
					}
				}
			}
			if syncing && (set.Truncated == nil || !*set.Truncated) {
				syncing, listed = false, true
				w.reconcile(listing, first)
			}
		}
		if !syncing && time.Since(audited) > auditEvery {
			in, err := audit(ctx)
			if err != nil {
				return listed, err
			}
			w.auditVMs(in)
			audited = time.Now()
		}
	}
}

// add puts VM ref in a list watch; remove takes it out, and reports
// whether the list is empty then. The session in progress ends, and the
// next one watches the new list.
func (w *watch) add(ref types.ManagedObjectReference) {
	w.mu.Lock()
	w.refs = append(w.refs, ref)
	restart := w.restart
	w.mu.Unlock()
	if restart != nil {
		restart()
	}
}

func (w *watch) remove(ref types.ManagedObjectReference) (empty bool) {
	w.mu.Lock()
	if i := slices.Index(w.refs, ref); i >= 0 {
		w.refs = slices.Delete(w.refs, i, i+1)
	}
	restart, empty := w.restart, len(w.refs) == 0
	w.mu.Unlock()
	if restart != nil && !empty {
		restart()
	}
	return empty
}

func objectSpecs(refs []types.ManagedObjectReference) []types.ObjectSpec {
	out := make([]types.ObjectSpec, len(refs))
	for i, ref := range refs {
		out[i] = types.ObjectSpec{Obj: ref}
	}
	return out
}

// auditEvery is how often a watch checks that the VMs it knows are still
// there, besides the collector's reports of VMs leaving: vcsim does not
// report every one (a VM destroyed while it re-reads a view that changed).
var auditEvery = 5 * time.Minute

// auditVMs reports as left every VM the watch knows that is not in.
func (w *watch) auditVMs(in map[types.ManagedObjectReference]bool) {
	for ref, old := range w.vms {
		if !in[ref] {
			delete(w.vms, ref)
			w.h.left(old)
		}
	}
}

// collect applies one update of a listing in progress.
func collect(listing map[types.ManagedObjectReference]vmState, u types.ObjectUpdate) {
	switch u.Kind {
	case types.ObjectUpdateKindLeave:
		delete(listing, u.Obj)
	case types.ObjectUpdateKindEnter, types.ObjectUpdateKindModify:
		s, ok := listing[u.Obj]
		if !ok || u.Kind == types.ObjectUpdateKindEnter {
			s = vmState{Ref: u.Obj}
		}
		for _, c := range u.ChangeSet {
			s.apply(c)
		}
		listing[u.Obj] = s
	}
}

// reread returns the boot options and firmware of a VM whose
// config.changeVersion changed in u without them (vcsim reports a
// reconfiguration of either only so), read now; nil otherwise.
func (w *watch) reread(ctx context.Context, vc *vim25.Client, u types.ObjectUpdate) []types.PropertyChange {
	if u.Kind != types.ObjectUpdateKindModify {
		return nil
	}
	version := false
	for _, c := range u.ChangeSet {
		if slices.Contains(bootProps, c.Name) {
			return nil
		}
		version = version || c.Name == "config.changeVersion"
	}
	if !version {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(vc).RetrieveOne(ctx, u.Obj, bootProps, &vm); err != nil || vm.Config == nil {
		return nil
	}
	return []types.PropertyChange{
		{Name: "config.bootOptions", Op: types.PropertyChangeOpAssign, Val: vm.Config.BootOptions},
		{Name: "config.firmware", Op: types.PropertyChangeOpAssign, Val: vm.Config.Firmware},
	}
}

// update reports one update after the listing, with more changes read
// for it.
func (w *watch) update(u types.ObjectUpdate, more []types.PropertyChange) {
	u.ChangeSet = append(u.ChangeSet, more...)
	old, known := w.vms[u.Obj]
	switch u.Kind {
	case types.ObjectUpdateKindLeave:
		if known {
			delete(w.vms, u.Obj)
			w.h.left(old)
		}
		return
	case types.ObjectUpdateKindEnter:
		cur := vmState{Ref: u.Obj}
		for _, c := range u.ChangeSet {
			cur.apply(c)
		}
		w.vms[u.Obj] = cur
		if known {
			w.h.changed(old, cur)
		} else {
			w.h.entered(cur)
		}
	case types.ObjectUpdateKindModify:
		cur := old
		if !known {
			cur = vmState{Ref: u.Obj}
		}
		for _, c := range u.ChangeSet {
			cur.apply(c)
		}
		w.vms[u.Obj] = cur
		if known {
			w.h.changed(old, cur)
		} else {
			w.h.entered(cur)
		}
	}
}

// reconcile makes a complete listing the watch's state, reporting what
// differs from what it knew (every VM, the first time).
func (w *watch) reconcile(listing map[types.ManagedObjectReference]vmState, first bool) {
	for ref, old := range w.vms {
		if _, ok := listing[ref]; !ok {
			delete(w.vms, ref)
			w.h.left(old)
		}
	}
	for ref, cur := range listing {
		old, known := w.vms[ref]
		w.vms[ref] = cur
		if known {
			w.h.changed(old, cur)
		} else {
			w.h.entered(cur)
		}
	}
	w.h.listed(first)
}
