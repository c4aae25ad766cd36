package hardware

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The machine's RAID volumes. The backend declares a controller that can
// build them (StorageController.RAIDTypes, ApplyTimes) over its Disks and
// the volumes it ships with (Info.Volumes); the Machine keeps the volumes
// as they are now and the changes staged for the next host boot, persisted,
// as a RAID controller keeps its configuration in its own NVRAM. A staged
// change takes effect when the host firmware next starts (Firmware.Boot),
// as a controller's pending configuration job does at POST.

// MaxVolumeNameLength bounds a volume's label, as RAID controllers store
// it (a MegaRAID virtual drive name is 15 characters).
const MaxVolumeNameLength = 15

// Volume events.
const (
	EventVolumeCreated EventKind = "VolumeCreated"
	EventVolumeDeleted EventKind = "VolumeDeleted"
)

// VolumeRequest asks the RAID controller for a volume.
type VolumeRequest struct {
	Name     string   // the label to store; "" for none
	RAIDType string   // one of the controller's RAIDTypes
	Drives   []string // Disk IDs
	// CapacityBytes is the size wanted, in bytes; nil for the largest the
	// drives allow.
	CapacityBytes *int64
	// ApplyTime is when the volume is built; "" is ApplyImmediate.
	ApplyTime ApplyTime
}

// VolumeOpKind says what a staged volume change does.
type VolumeOpKind string

// Volume change kinds.
const (
	VolumeCreate VolumeOpKind = "Create"
	VolumeDelete VolumeOpKind = "Delete"
)

// VolumeOp is a volume change staged until the host firmware next starts.
type VolumeOp struct {
	ID   uint64       `json:"id"` // unique within the machine, increasing
	Kind VolumeOpKind `json:"kind"`
	// Volume is the volume to create (its ID chosen already) or the one
	// to delete, as it was when the change was asked for.
	Volume    Volume    `json:"volume"`
	Requested time.Time `json:"requested"`
}

// VolumeField names what a VolumeError is about, in the terms of a
// VolumeRequest.
type VolumeField string

// Volume request fields.
const (
	VolumeFieldName      VolumeField = "Name"
	VolumeFieldRAIDType  VolumeField = "RAIDType"
	VolumeFieldDrives    VolumeField = "Drives"
	VolumeFieldCapacity  VolumeField = "CapacityBytes"
	VolumeFieldApplyTime VolumeField = "ApplyTime"
)

// VolumeProblem says what is wrong with a field of a volume request.
type VolumeProblem string

// Volume problems.
const (
	// VolumeNotInList: a RAID type, drive or apply time the controller
	// does not have.
	VolumeNotInList VolumeProblem = "is not a value this controller accepts"
	VolumeMissing   VolumeProblem = "is required"
	// VolumeDuplicate: a drive named twice (Other: its first position).
	VolumeDuplicate VolumeProblem = "appears twice"
	// VolumeDriveCount: the RAID type does not take this many drives.
	VolumeDriveCount VolumeProblem = "is not a drive count the RAID type takes"
	// VolumeMixed: the drive's media type or protocol differs from the
	// first drive's (Other), which controllers refuse in one volume.
	VolumeMixed VolumeProblem = "differs in media type or protocol from the other drives"
	// VolumeOutOfRange: a capacity of 0 or less, or more than the drives
	// hold (Max).
	VolumeOutOfRange VolumeProblem = "is out of range"
	VolumeTooLong    VolumeProblem = "is too long"
	// VolumeInUse: the drive belongs to Volume already, or to the volume
	// a staged change will create (Staged).
	VolumeInUse VolumeProblem = "belongs to another volume"
)

// VolumeError is one refused field of a volume request. It wraps
// ErrInvalid.
type VolumeError struct {
	Field   VolumeField
	Index   int // position in Drives (FieldDrives), else -1
	Value   string
	Problem VolumeProblem
	// Other is the position a VolumeDuplicate or VolumeMixed drive
	// conflicts with.
	Other int
	// Volume is the volume holding a VolumeInUse drive; Staged says it is
	// the volume a staged change will create.
	Volume string
	Staged bool
	// Max is the largest capacity the drives allow (VolumeOutOfRange).
	Max int64
}

func (e *VolumeError) Error() string {
	f := string(e.Field)
	if e.Index >= 0 {
		f = fmt.Sprintf("%s[%d]", f, e.Index)
	}
	s := fmt.Sprintf("volume %s %q %s", f, e.Value, e.Problem)
	switch {
	case e.Problem == VolumeInUse && e.Staged:
		s += " " + e.Volume + " (staged)"
	case e.Problem == VolumeInUse:
		s += " " + e.Volume
	case e.Problem == VolumeOutOfRange && e.Max > 0:
		s += fmt.Sprintf(" (at most %d)", e.Max)
	}
	return s
}

func (e *VolumeError) Unwrap() error { return ErrInvalid }

// VolumeErrors is every refused field of a volume request, in the order
// of the request's fields.
type VolumeErrors []*VolumeError

func (es VolumeErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es VolumeErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// loadVolumesLocked starts from the backend's volumes until the
// configuration was first changed, and drops persisted volumes and staged
// changes over drives the backend no longer has.
func (m *Machine) loadVolumesLocked() {
	if !m.st.VolumesSet {
		m.st.Volumes = slices.Clone(m.info.Volumes)
	}
	gone := func(v Volume) bool {
		for _, d := range v.Drives {
			if _, ok := m.disk(d); !ok {
				m.log.Warn("volume dropped: its drive is gone", "volume", v.ID, "drive", d)
				return true
			}
		}
		return false
	}
	m.st.Volumes = slices.DeleteFunc(m.st.Volumes, gone)
	m.st.VolumeOps = slices.DeleteFunc(m.st.VolumeOps, func(op VolumeOp) bool { return gone(op.Volume) })
}

func (m *Machine) disk(id string) (Disk, bool) {
	for _, d := range m.info.Disks {
		if d.ID == id {
			return d, true
		}
	}
	return Disk{}, false
}

// Volumes lists the volumes the RAID controller presents now, oldest
// first. Staged creations are not among them until the host next boots.
func (m *Machine) Volumes() []Volume {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.st.Volumes)
}

// Volume returns one volume by ID.
func (m *Machine) Volume(id string) (Volume, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.st.Volumes, func(v Volume) bool { return v.ID == id })
	if i < 0 {
		return Volume{}, false
	}
	return m.st.Volumes[i], true
}

// StagedVolumeOps lists the volume changes waiting for the next host
// boot, in the order they will be applied.
func (m *Machine) StagedVolumeOps() []VolumeOp {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.st.VolumeOps)
}

// VolumeOpDone returns a channel that is closed once the staged change id
// has been applied: at once when no such change waits.
func (m *Machine) VolumeOpDone(id uint64) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.ContainsFunc(m.st.VolumeOps, func(op VolumeOp) bool { return op.ID == id }) {
		c := make(chan struct{})
		close(c)
		return c
	}
	c, ok := m.volWait[id]
	if !ok {
		c = make(chan struct{})
		m.volWait[id] = c
	}
	return c
}

// CheckVolume checks req as CreateVolume does, and changes nothing.
func (m *Machine) CheckVolume(req VolumeRequest) error {
	ctl, ok := m.RAIDController()
	if !ok {
		return fmt.Errorf("create volume: %w", ErrNotSupported)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, errs := m.checkVolumeLocked(ctl, &req); len(errs) > 0 {
		return errs
	}
	return nil
}

// CreateVolume has the RAID controller build a volume. The whole request
// is checked first (every problem is reported, as VolumeErrors): the RAID
// type must be one of the controller's, the drives known, distinct, of one
// media type and protocol, in no volume (nor in one a staged change will
// create), as many as the RAID type takes; the capacity at most what they
// hold (the smallest drive's capacity times the level's data drives); the
// name at most MaxVolumeNameLength bytes; the apply time one the
// controller supports. Its ID is the lowest free positive number.
//
// With ApplyImmediate the volume exists on return and is logged; with
// ApplyOnReset the change is staged and returned, and the volume appears
// (and is logged) when the host firmware next starts. Errors:
// ErrNotSupported (no RAID controller), VolumeErrors (wraps ErrInvalid),
// or the store's.
func (m *Machine) CreateVolume(req VolumeRequest) (Volume, *VolumeOp, error) {
	ctl, ok := m.RAIDController()
	if !ok {
		return Volume{}, nil, fmt.Errorf("create volume: %w", ErrNotSupported)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	at, errs := m.checkVolumeLocked(ctl, &req)
	if len(errs) > 0 {
		return Volume{}, nil, errs
	}
	v := Volume{ID: m.freeVolumeIDLocked(), Name: req.Name, RAIDType: req.RAIDType,
		Drives: slices.Clone(req.Drives), CapacityBytes: *req.CapacityBytes}
	if at == ApplyOnReset {
		op, err := m.stageVolumeLocked(VolumeCreate, v)
		return v, op, err
	}
	err := m.updateLocked(func(st *state) error {
		st.Volumes, st.VolumesSet = append(st.Volumes, v), true
		return nil
	})
	if err != nil {
		return Volume{}, nil, err
	}
	m.logVolumeLocked(VolumeCreate, v, false)
	return v, nil, nil
}

// DeleteVolume has the RAID controller delete volume id, at once
// (ApplyImmediate, or "") or when the host firmware next starts
// (ApplyOnReset: the change is staged and returned). Errors:
// ErrNotSupported (no RAID controller), ErrNotFound (no such volume),
// ErrBusy (its deletion is staged already), VolumeErrors (an apply time
// the controller does not support), or the store's.
func (m *Machine) DeleteVolume(id string, at ApplyTime) (*VolumeOp, error) {
	ctl, ok := m.RAIDController()
	if !ok {
		return nil, fmt.Errorf("delete volume: %w", ErrNotSupported)
	}
	if at == "" {
		at = ApplyImmediate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.st.Volumes, func(v Volume) bool { return v.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("volume %q: %w", id, ErrNotFound)
	}
	v := m.st.Volumes[i]
	if !slices.Contains(ctl.ApplyTimes, at) {
		return nil, VolumeErrors{{Field: VolumeFieldApplyTime, Index: -1, Value: string(at), Problem: VolumeNotInList}}
	}
	if slices.ContainsFunc(m.st.VolumeOps, func(op VolumeOp) bool { return op.Kind == VolumeDelete && op.Volume.ID == id }) {
		return nil, fmt.Errorf("volume %q is staged for deletion already: %w", id, ErrBusy)
	}
	if at == ApplyOnReset {
		return m.stageVolumeLocked(VolumeDelete, v)
	}
	err := m.updateLocked(func(st *state) error {
		st.Volumes = slices.DeleteFunc(st.Volumes, func(x Volume) bool { return x.ID == id })
		st.VolumesSet = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.logVolumeLocked(VolumeDelete, v, false)
	return nil, nil
}

// checkVolumeLocked checks req whole and fills in its capacity when it
// asks for the largest; it returns the apply time.
func (m *Machine) checkVolumeLocked(ctl StorageController, req *VolumeRequest) (ApplyTime, VolumeErrors) {
	var errs VolumeErrors
	bad := func(e VolumeError) { errs = append(errs, &e) }
	if len(req.Name) > MaxVolumeNameLength {
		bad(VolumeError{Field: VolumeFieldName, Index: -1, Value: req.Name, Problem: VolumeTooLong})
	}
	level, known := RAIDLevels[req.RAIDType]
	switch {
	case req.RAIDType == "":
		bad(VolumeError{Field: VolumeFieldRAIDType, Index: -1, Problem: VolumeMissing})
	case !known || !slices.Contains(ctl.RAIDTypes, req.RAIDType):
		bad(VolumeError{Field: VolumeFieldRAIDType, Index: -1, Value: req.RAIDType, Problem: VolumeNotInList})
		known = false
	}
	// The drives: every one known, once, alike, and free.
	holder := map[string]VolumeError{}
	for _, v := range m.st.Volumes {
		for _, d := range v.Drives {
			holder[d] = VolumeError{Volume: v.ID}
		}
	}
	for _, op := range m.st.VolumeOps {
		if op.Kind == VolumeCreate {
			for _, d := range op.Volume.Drives {
				holder[d] = VolumeError{Volume: op.Volume.ID, Staged: true}
			}
		}
	}
	var disks []Disk
	first := map[string]int{}
	for i, id := range req.Drives {
		d, ok := m.disk(id)
		if !ok {
			bad(VolumeError{Field: VolumeFieldDrives, Index: i, Value: id, Problem: VolumeNotInList})
			continue
		}
		if j, dup := first[id]; dup {
			bad(VolumeError{Field: VolumeFieldDrives, Index: i, Value: id, Problem: VolumeDuplicate, Other: j})
			continue
		}
		first[id] = i
		if h, taken := holder[id]; taken {
			bad(VolumeError{Field: VolumeFieldDrives, Index: i, Value: id, Problem: VolumeInUse, Volume: h.Volume, Staged: h.Staged})
		}
		if len(disks) > 0 && (d.MediaType != disks[0].MediaType || d.Protocol != disks[0].Protocol) {
			bad(VolumeError{Field: VolumeFieldDrives, Index: i, Value: id, Problem: VolumeMixed, Other: first[disks[0].ID]})
		}
		disks = append(disks, d)
	}
	switch {
	case len(req.Drives) == 0:
		bad(VolumeError{Field: VolumeFieldDrives, Index: -1, Problem: VolumeMissing})
	case known && !level.fits(len(req.Drives)):
		bad(VolumeError{Field: VolumeFieldDrives, Index: -1, Value: strconv.Itoa(len(req.Drives)), Problem: VolumeDriveCount})
	}
	// The capacity, once the drives and level are sound.
	if known && len(disks) == len(req.Drives) && level.fits(len(disks)) {
		smallest := disks[0].CapacityBytes
		for _, d := range disks {
			smallest = min(smallest, d.CapacityBytes)
		}
		most := smallest * int64(level.DataDrives(len(disks)))
		switch c := req.CapacityBytes; {
		case c == nil:
			req.CapacityBytes = &most
		case *c <= 0 || *c > most:
			bad(VolumeError{Field: VolumeFieldCapacity, Index: -1, Value: strconv.FormatInt(*c, 10), Problem: VolumeOutOfRange, Max: most})
		}
	} else if c := req.CapacityBytes; c != nil && *c <= 0 {
		bad(VolumeError{Field: VolumeFieldCapacity, Index: -1, Value: strconv.FormatInt(*c, 10), Problem: VolumeOutOfRange})
	}
	at := req.ApplyTime
	if at == "" {
		at = ApplyImmediate
	}
	if !slices.Contains(ctl.ApplyTimes, at) {
		bad(VolumeError{Field: VolumeFieldApplyTime, Index: -1, Value: string(at), Problem: VolumeNotInList})
	}
	return at, errs
}

// freeVolumeIDLocked is the lowest positive number no volume, present or
// staged, has as its ID (controllers reuse the numbers of deleted
// volumes).
func (m *Machine) freeVolumeIDLocked() string {
	used := map[string]bool{}
	for _, v := range m.st.Volumes {
		used[v.ID] = true
	}
	for _, op := range m.st.VolumeOps {
		used[op.Volume.ID] = true
	}
	for n := 1; ; n++ {
		if id := strconv.Itoa(n); !used[id] {
			return id
		}
	}
}

// stageVolumeLocked records a change for the next host boot.
func (m *Machine) stageVolumeLocked(kind VolumeOpKind, v Volume) (*VolumeOp, error) {
	var op VolumeOp
	err := m.updateLocked(func(st *state) error {
		st.NextVolumeOp++
		op = VolumeOp{ID: st.NextVolumeOp, Kind: kind, Volume: v, Requested: time.Now().UTC()}
		st.VolumeOps = append(st.VolumeOps, op)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.log.Info("volume change staged for the next host boot", "kind", kind, "volume", v.ID)
	return &op, nil
}

// applyVolumeOpsLocked runs when the host firmware starts: every staged
// change takes effect, in order, and is logged. It changes st, which the
// caller persists and makes current before calling the returned function,
// which wakes those waiting for the changes (VolumeOpDone).
func (m *Machine) applyVolumeOpsLocked(st *state) (wake func()) {
	if len(st.VolumeOps) == 0 {
		return func() {}
	}
	var done []uint64
	for _, op := range st.VolumeOps {
		switch op.Kind {
		case VolumeCreate:
			st.Volumes = append(st.Volumes, op.Volume)
		case VolumeDelete:
			st.Volumes = slices.DeleteFunc(st.Volumes, func(x Volume) bool { return x.ID == op.Volume.ID })
		}
		m.logVolumeLocked(op.Kind, op.Volume, true)
		done = append(done, op.ID)
	}
	st.VolumeOps, st.VolumesSet = nil, true
	return func() {
		for _, id := range done {
			if c, ok := m.volWait[id]; ok {
				close(c)
				delete(m.volWait, id)
			}
		}
	}
}

// logVolumeLocked records a volume created or deleted, now or at the host
// reset that applied a staged change.
func (m *Machine) logVolumeLocked(kind VolumeOpKind, v Volume, atReset bool) {
	what := fmt.Sprintf("Volume %s", v.ID)
	if v.Name != "" {
		what += fmt.Sprintf(" %q", v.Name)
	}
	what += fmt.Sprintf(" (%s over %s, %d bytes)", v.RAIDType, strings.Join(v.Drives, ", "), v.CapacityBytes)
	e := Event{Kind: EventVolumeCreated, Severity: SeverityOK, Message: what + " created", Volume: v.ID}
	if kind == VolumeDelete {
		e.Kind, e.Message = EventVolumeDeleted, what+" deleted"
	}
	if atReset {
		e.Message += " at host reset"
	}
	m.logLocked(e)
}
