package hardware

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/internal/fetch"
)

// Store persists machine state. internal/store implements it over bbolt;
// a Put returns only once the value is durable.
type Store interface {
	Get(bucket, key string, v any) (bool, error)
	Put(bucket, key string, v any) error
	Delete(bucket, key string) error
	List(bucket string, fn func(key string, raw []byte) error) error
	DropBucket(bucket string) error
}

// BatchStore is a Store that can put one value and delete others in a
// single durable transaction.
type BatchStore interface {
	PutDelete(bucket, key string, v any, del ...string) error
}

const machinesBucket = "machines"

func eventsBucket(id string) string { return "events/" + id }

// state is what a Machine persists.
type state struct {
	Override    BootOverride     `json:"override"`
	Media       map[string]Media `json:"media"`
	Bios        map[string]any   `json:"bios"`
	BiosPending map[string]any   `json:"bios_pending,omitempty"`
	// BiosApplied is when staged settings last took effect, and which.
	BiosApplied *BiosApplied `json:"bios_applied,omitempty"`
	// LastReset is when the last reset (not an NMI) was requested, what
	// it was and who asked (origin.go).
	LastReset     time.Time `json:"last_reset,omitempty"`
	LastResetType ResetType `json:"last_reset_type,omitempty"`
	LastResetBy   Origin    `json:"last_reset_by,omitempty"`
	// PowerOnBy is the reset that applied the power now on (nil: off, or
	// on by other means).
	PowerOnBy  *ResetRecord `json:"power_on_by,omitempty"`
	SecureBoot bool         `json:"secure_boot"`
	// SecureBootCurrent is what the firmware ran with at the last boot.
	SecureBootCurrent bool `json:"secure_boot_current"`
	// The UEFI boot manager's variables (see boot.go). BootOrder is only
	// meaningful when BootOrderSet; otherwise the order is the backend's.
	BootOrder    []string `json:"boot_order,omitempty"`
	BootOrderSet bool     `json:"boot_order_set,omitempty"`
	BootNext     string   `json:"boot_next,omitempty"`
	// BootDisabled are the options whose LOAD_OPTION_ACTIVE is clear.
	BootDisabled []string `json:"boot_disabled,omitempty"`
	// Firmware holds updated versions and staged images (firmwareupdate.go).
	Firmware map[string]firmwareState `json:"firmware,omitempty"`
	// The RAID controller's configuration (volumes.go): the volumes, once
	// it was first changed (VolumesSet; until then the backend's), and the
	// changes staged for the next host boot.
	Volumes      []Volume   `json:"volumes,omitempty"`
	VolumesSet   bool       `json:"volumes_set,omitempty"`
	VolumeOps    []VolumeOp `json:"volume_ops,omitempty"`
	NextVolumeOp uint64     `json:"next_volume_op,omitempty"`
	// Power is the host's power state as last reported ("" before bmcd
	// recorded one), POST whether its firmware was running its POST then:
	// what a PowerResumer takes up again and CheckPower compares with.
	Power PowerState `json:"power,omitempty"`
	POST  bool       `json:"post,omitempty"`
}

// Machine is one managed server: a backend plus the state a BMC keeps for
// it. All methods are safe for concurrent use.
type Machine struct {
	id      string
	backend Backend
	info    Info
	caps    Capabilities
	bios    BiosRegistry
	opts    []BootOption   // the backend's boot options, Disabled always false
	optIdx  map[string]int // Reference -> index in opts
	store   Store
	log     *slog.Logger

	gen atomic.Uint64 // bumped on every observable change

	mu        sync.Mutex
	st        state
	events    []Event
	lastEvent uint64
	lastBoot  BootResult
	inserting map[string]bool
	// powerSeq counts the power changes the backend reported, so a reader
	// of the backend's state can tell a change raced it.
	powerSeq uint64
	// powering is the accepted reset that is to apply the power, until the
	// backend reports the power on (powerChanged); see PowerOnCause.
	powering *ResetRecord
	// pendingResets are host resets requested and not logged yet: each is
	// logged before the first power change the backend reports after it,
	// or once the backend accepted it (see Reset).
	pendingResets []*Event

	firmware []FirmwareComponent // as shipped; see firmwareupdate.go
	fwBusy   map[string]bool     // components being updated

	volWait map[uint64]chan struct{} // closed when a staged volume change applies

	// The identify indication is volatile, as on real hardware.
	identifyMode  IdentifyMode
	identifyUntil time.Time // zero: until changed
	identifyTimer *time.Timer
	// litMu orders the Indicator calls; lit is the mode last lit (""
	// before the first).
	litMu sync.Mutex
	lit   IdentifyMode

	consoleOnce sync.Once
	console     *Console // see console.go

	// parts are the backend's capabilities, disabled ones filled in.
	parts Parts
	// planMu orders the boot plans handed to the backend, planQueued
	// coalesces them (bootcontrol.go).
	planMu     sync.Mutex
	planQueued atomic.Bool
	handed     *BootPlan // the plan last handed, under planMu
	closed     bool      // under planMu

	subs map[*subscriber]struct{} // event subscribers, see events.go
}

// instances counts the Machines made in this process (NewMachine).
var instances atomic.Uint64

// NewMachine wraps backend as machine id, loading persisted state from st.
func NewMachine(id string, backend Backend, st Store, log *slog.Logger) (*Machine, error) {
	if log == nil {
		log = slog.Default()
	}
	m := &Machine{
		id:        id,
		backend:   backend,
		info:      backend.Info(),
		store:     st,
		log:       log.With("system", id),
		inserting: map[string]bool{},
		fwBusy:    map[string]bool{},
		volWait:   map[uint64]chan struct{}{},
	}
	// Generations of one Machine never meet another's: a system removed
	// and found again (a libvirt domain undefined and redefined) is a new
	// Machine, and a rendering cached at the old one's generation must not
	// pass for the new one's.
	m.gen.Store(instances.Add(1) << 32)
	// Attach first: the backend may report from now on, and the reports
	// wait on m.mu until the state is loaded.
	m.mu.Lock()
	m.parts = backend.Attach(host{m}).withDefaults()
	m.caps = m.parts.Capabilities()
	m.bios = biosRegistry(m.parts.Firmware, m.caps, m.defaultMode())
	m.opts, m.optIdx = bootOptionIndex(m.caps.BootOptions)
	m.firmware = shippedFirmware(m.parts.Update, m.info)
	err := m.load()
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("load machine %s: %w", id, err)
	}
	m.resumeMedia()
	m.resumePower()
	m.planChanged() // the backend learns the plan at once
	m.Console()     // attach the serial line now, so scrollback starts at once
	return m, nil
}

func (m *Machine) load() error {
	ok, err := m.store.Get(machinesBucket, m.id, &m.st)
	if err != nil {
		return err
	}
	if !ok {
		m.st = state{Override: BootOverride{Target: BootNone, Enabled: BootDisabled, Mode: m.defaultMode()}}
	}
	if m.st.Media == nil {
		m.st.Media = map[string]Media{}
	}
	// Slots come from the backend; persisted contents fill them.
	for _, s := range m.caps.MediaSlots {
		md := m.st.Media[s.ID]
		md.SlotSpec = s
		if md.Size == 0 {
			md.Size = -1
		}
		m.st.Media[s.ID] = md
	}
	m.loadBiosLocked()
	m.loadBootLocked()
	m.loadVolumesLocked()
	if m.st.Firmware == nil {
		m.st.Firmware = map[string]firmwareState{}
	}
	err = m.store.List(eventsBucket(m.id), func(_ string, raw []byte) error {
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		m.events = append(m.events, e)
		if e.ID > m.lastEvent {
			m.lastEvent = e.ID
		}
		return nil
	})
	sort.Slice(m.events, func(i, j int) bool { return m.events[i].ID < m.events[j].ID })
	return err
}

func (m *Machine) defaultMode() BootMode {
	if len(m.caps.BootModes) > 0 {
		return m.caps.BootModes[0]
	}
	return BootModeUEFI
}

// updateLocked applies fn to a copy of the state and makes the copy
// current only once it is durable, so a failed write changes nothing. The
// caller holds m.mu.
func (m *Machine) updateLocked(fn func(st *state) error) error {
	next := m.st.clone()
	if err := fn(&next); err != nil {
		return err
	}
	if err := m.store.Put(machinesBucket, m.id, &next); err != nil {
		return fmt.Errorf("persist machine %s: %w", m.id, err)
	}
	m.st = next
	m.gen.Add(1)
	m.planChanged()
	return nil
}

func (s state) clone() state {
	c := s
	c.Media = make(map[string]Media, len(s.Media))
	for k, v := range s.Media {
		c.Media[k] = v
	}
	c.Bios = cloneMap(s.Bios)
	c.BiosPending = cloneMap(s.BiosPending)
	c.BootOrder = append([]string(nil), s.BootOrder...)
	c.BootDisabled = append([]string(nil), s.BootDisabled...)
	if s.PowerOnBy != nil {
		r := *s.PowerOnBy
		c.PowerOnBy = &r
	}
	c.Firmware = make(map[string]firmwareState, len(s.Firmware))
	for k, v := range s.Firmware {
		c.Firmware[k] = v // Pending is replaced, never changed in place
	}
	// Volumes are replaced, never changed in place.
	c.Volumes = append([]Volume(nil), s.Volumes...)
	c.VolumeOps = append([]VolumeOp(nil), s.VolumeOps...)
	return c
}

// ID is the machine's identifier, unique within the daemon.
func (m *Machine) ID() string { return m.id }

// Info is the machine's inventory. It is static except BiosVersion, which
// is the version the BIOS runs now: it changes when a staged BIOS update is
// activated at a host reset (firmwareupdate.go), and Volumes, the volumes
// the RAID controller presents now (volumes.go).
func (m *Machine) Info() Info {
	in := m.info
	m.mu.Lock()
	in.BiosVersion = m.biosVersionLocked()
	in.Volumes = append([]Volume(nil), m.st.Volumes...)
	m.mu.Unlock()
	return in
}

// Capabilities says what the machine's backend can do.
func (m *Machine) Capabilities() Capabilities { return m.caps }

// Generation changes whenever anything observable about the machine
// changes, so callers can cache what they render from it.
func (m *Machine) Generation() uint64 { return m.gen.Load() }

// PowerState is the host's power state as the backend keeps it. Errors:
// ErrNotSupported when the machine has no power control.
func (m *Machine) PowerState(ctx context.Context) (PowerState, error) {
	return m.parts.Power.PowerState(ctx)
}

// InPOST reports whether the host firmware is running its power-on self
// test (see POSTReporter); false when the backend cannot tell.
func (m *Machine) InPOST() bool {
	if p, ok := m.parts.Power.(POSTReporter); ok {
		return p.InPOST()
	}
	return false
}

// Reset carries out a power action. Errors: ErrNotSupported when the
// backend lacks r; what the backend returns otherwise (ErrState when r
// does not apply in the present power state). An NMI is not a reset: it
// leaves LastReset as it is. A restart (ResetType.Restarts) is logged as
// a host reset (EventHostReset with its ResetType) before the power
// changes it brings; those are logged as the backend reports them
// (powerChanged).
func (m *Machine) Reset(ctx context.Context, r ResetType) error {
	if !m.caps.CanReset(r) {
		return fmt.Errorf("reset %s: %w", r, ErrNotSupported)
	}
	var pending *Event
	if r.Restarts() {
		pending = &Event{Kind: EventHostReset, Severity: SeverityOK, Message: "Host reset requested: " + string(r), ResetType: r}
		m.mu.Lock()
		m.pendingResets = append(m.pendingResets, pending)
		m.mu.Unlock()
	}
	rec := ResetRecord{Type: r, Time: time.Now().UTC(), Origin: OriginOf(ctx)}
	before, _ := m.parts.Power.PowerState(ctx)
	m.mu.Lock()
	seq := m.powerSeq
	switch {
	case r == ResetPowerCycle || before == PowerOff && r.powersOn():
		m.powering = &rec
	case !r.powersOn():
		m.powering = nil
	}
	m.mu.Unlock()
	err := m.handPlan(ctx)
	if err == nil {
		err = m.parts.Power.Reset(ctx, r)
	}
	m.mu.Lock()
	if pending != nil && m.unqueueResetLocked(pending) && err == nil {
		m.logLocked(*pending) // no power change was reported: a warm reset
	}
	if err != nil && m.powering == &rec {
		m.powering = nil
	}
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("reset %s: %w", r, err)
	}
	m.mu.Lock()
	if r == ResetNmi {
		m.logLocked(Event{Kind: EventNmi, Severity: SeverityWarning, Message: "Diagnostic interrupt (NMI) sent to the host"})
	} else {
		// Kept in the store: LastResetTime outlives a bmcd restart, as it
		// outlives a BMC reboot.
		set := func(st *state) { st.LastReset, st.LastResetType, st.LastResetBy = rec.Time, rec.Type, rec.Origin }
		if err := m.updateLocked(func(st *state) error { set(st); return nil }); err != nil {
			m.log.Error("persist last reset", "err", err)
			set(&m.st)
		}
	}
	m.mu.Unlock()
	if r != ResetNmi {
		m.recordPower(ctx, seq)
	}
	m.gen.Add(1)
	m.log.Info("reset", "type", r)
	return nil
}

// unqueueResetLocked takes e off the pending host resets; false if it was
// logged already.
func (m *Machine) unqueueResetLocked(e *Event) bool {
	for i, p := range m.pendingResets {
		if p == e {
			m.pendingResets = append(m.pendingResets[:i:i], m.pendingResets[i+1:]...)
			return true
		}
	}
	return false
}

// LastReset is when the last reset was requested (zero if never).
func (m *Machine) LastReset() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.LastReset
}

// powerChanged is the backend's report of a power change. The event log
// records the power being applied (Off to any other state: PoweringOn
// already runs the firmware) and removed (any state to Off), exactly once
// each, so PowerOn and PowerOff entries always pair up, whatever comes in
// between; transitions with the power applied throughout (PoweringOn to
// On, On to PoweringOff, PoweringOff to On) log nothing.
func (m *Machine) powerChanged(from, to PowerState) {
	m.mu.Lock()
	m.powerSeq++
	for _, e := range m.pendingResets {
		m.logLocked(*e)
	}
	m.pendingResets = nil
	m.logPowerLocked(from, to)
	cause, causeSet := m.st.PowerOnBy, false
	switch {
	case to == PowerOff:
		cause, causeSet = nil, true
	case from == PowerOff:
		cause, causeSet, m.powering = m.powering, true, nil
	}
	if causeSet && cause != m.st.PowerOnBy {
		if err := m.updateLocked(func(st *state) error { st.PowerOnBy = cause; return nil }); err != nil {
			m.log.Error("persist power-on cause", "err", err)
		}
	}
	m.recordPowerLocked(to, to == PowerPoweringOn)
	m.mu.Unlock()
	m.gen.Add(1)
}

// logPowerLocked logs the power change from -> to, if the power was
// applied or removed.
func (m *Machine) logPowerLocked(from, to PowerState) {
	switch {
	case from == PowerOff && to != PowerOff:
		m.logLocked(Event{Kind: EventPowerOn, Severity: SeverityOK, Message: "System powered on"})
	case from != PowerOff && to == PowerOff:
		m.logLocked(Event{Kind: EventPowerOff, Severity: SeverityOK, Message: "System powered off"})
	}
}

// recordPowerLocked persists the host's power state, if it changed.
func (m *Machine) recordPowerLocked(s PowerState, post bool) {
	if m.st.Power == s && m.st.POST == post {
		return
	}
	if err := m.updateLocked(func(st *state) error { st.Power, st.POST = s, post; return nil }); err != nil {
		m.log.Error("persist power state", "state", s, "err", err)
	}
}

// recordPower reads the backend's power state and records it, unless a
// change was reported since seq (powerChanged recorded that one).
func (m *Machine) recordPower(ctx context.Context, seq uint64) {
	ps, err := m.parts.Power.PowerState(ctx)
	if err != nil {
		return
	}
	post := m.InPOST()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.powerSeq == seq {
		m.recordPowerLocked(ps, post)
	}
}

// resumePower hands a PowerResumer the power state recorded before bmcd
// stopped, so its host goes on as it was: a BMC restart is not a power
// loss. Nothing is logged; CheckPower reports any difference.
// resumeMedia hands a MediaResumer backend the media inserted before
// bmcd stopped.
func (m *Machine) resumeMedia() {
	r, ok := m.parts.Media.(MediaResumer)
	if !ok {
		return
	}
	for _, s := range m.caps.MediaSlots {
		if md := m.st.Media[s.ID]; md.Inserted && md.Image != "" {
			r.ResumeMedia(s.ID, md.Image)
		}
	}
}

func (m *Machine) resumePower() {
	r, ok := m.parts.Power.(PowerResumer)
	if !ok || m.st.Power == "" {
		return
	}
	if err := r.ResumePower(m.st.Power, m.st.POST); err != nil {
		m.log.Error("resume power state", "state", m.st.Power, "post", m.st.POST, "err", err)
	}
}

// CheckPower compares the power state the backend reports with the one
// recorded before bmcd last stopped, and records it. A difference is a
// change no one saw happen (the host lost power, or was powered on, while
// bmcd was down): it is logged, and published, as PowerOn or PowerOff,
// like any other. The first start records without logging. cmd/bmcd calls
// it once at start, after the protocols subscribed to events; it returns
// the backend's error, if it cannot tell.
func (m *Machine) CheckPower(ctx context.Context) error {
	m.mu.Lock()
	seq := m.powerSeq
	m.mu.Unlock()
	ps, err := m.parts.Power.PowerState(ctx)
	if err != nil {
		return fmt.Errorf("power state: %w", err)
	}
	post := m.InPOST()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.powerSeq != seq {
		return nil // the backend reported a change meanwhile; it is recorded
	}
	if prev := m.st.Power; prev != "" && prev != ps {
		m.log.Warn("host power state changed while bmcd was down", "recorded", prev, "now", ps)
		m.logPowerLocked(prev, ps)
		if m.st.PowerOnBy != nil {
			if err := m.updateLocked(func(st *state) error { st.PowerOnBy = nil; return nil }); err != nil {
				m.log.Error("persist power-on cause", "err", err)
			}
		}
	}
	m.recordPowerLocked(ps, post)
	return nil
}

// Media lists the virtual media slots in the backend's order.
func (m *Machine) Media() []Media {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Media, 0, len(m.caps.MediaSlots))
	for _, s := range m.caps.MediaSlots {
		out = append(out, m.st.Media[s.ID])
	}
	return out
}

// MediaSlot returns one slot.
func (m *Machine) MediaSlot(id string) (Media, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[id]
	return md, ok
}

// SecureBoot returns whether Secure Boot is enabled for the next boot and
// whether the current boot used it.
func (m *Machine) SecureBoot() (enabled, current bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.SecureBoot, m.st.SecureBootCurrent
}

// ErrSecureBootLegacy refuses enabling Secure Boot while the firmware's
// next POST reads BIOS BootMode Legacy: Secure Boot verifies UEFI images
// only, and firmware (iDRAC, AMI Aptio) offers it only in UEFI mode. It
// wraps ErrInvalid.
var ErrSecureBootLegacy = fmt.Errorf("secure boot needs BIOS BootMode UEFI: %w", ErrInvalid)

// SetSecureBoot enables or disables Secure Boot from the next boot on.
// Errors: ErrNotSupported without a Secure Boot toggle; ErrSecureBootLegacy
// when enabling it while the BIOS BootMode (pending value included) is
// Legacy. Switching BootMode to Legacy with Secure Boot enabled is
// accepted: Legacy boots then run without it (SecureBootCurrent false).
func (m *Machine) SetSecureBoot(on bool) error {
	if !m.caps.SecureBoot {
		return fmt.Errorf("secure boot: %w", ErrNotSupported)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if on && !m.st.SecureBoot && m.biosNextModeLocked(&m.st) == BootModeLegacy {
		return ErrSecureBootLegacy
	}
	return m.updateLocked(func(st *state) error { st.SecureBoot = on; return nil })
}

// Events returns a copy of the event log, oldest first.
func (m *Machine) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// ClearEvents empties the event log and records that it was cleared.
func (m *Machine) ClearEvents() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.DropBucket(eventsBucket(m.id)); err != nil {
		return fmt.Errorf("clear event log: %w", err)
	}
	m.events = nil
	m.logLocked(Event{Kind: EventLogCleared, Severity: SeverityOK, Message: "Event log cleared"})
	return nil
}

// AddEvent appends an entry to the event log.
func (m *Machine) AddEvent(kind EventKind, sev Severity, msg string) {
	m.LogEvent(Event{Kind: kind, Severity: sev, Message: msg})
}

// LogEvent appends e to the event log with the next ID and the current
// time (whatever e's ID and Time say), and publishes it to subscribers.
func (m *Machine) LogEvent(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logLocked(e)
}

func (m *Machine) logLocked(e Event) {
	m.lastEvent++
	e.ID, e.Time = m.lastEvent, time.Now().UTC().Truncate(time.Second)
	m.events = append(m.events, e)
	var drop []string
	if over := len(m.events) - MaxEvents; over > 0 {
		for _, old := range m.events[:over] {
			drop = append(drop, eventKey(old.ID))
		}
		m.events = append([]Event(nil), m.events[over:]...)
	}
	// One durable write for the new entry and the trimmed ones when the
	// store can batch them (each write is an fsync).
	var err error
	if bs, ok := m.store.(BatchStore); ok {
		err = bs.PutDelete(eventsBucket(m.id), eventKey(e.ID), &e, drop...)
	} else {
		err = m.store.Put(eventsBucket(m.id), eventKey(e.ID), &e)
		for _, k := range drop {
			_ = m.store.Delete(eventsBucket(m.id), k)
		}
	}
	if err != nil {
		m.log.Error("persist event", "err", err)
	}
	m.gen.Add(1)
	m.publishLocked(e)
}

func eventKey(id uint64) string { return fmt.Sprintf("%020d", id) }

func cloneMap(in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// Close releases the backend.
//
// No call reaches the backend after Close: a boot plan being handed is
// waited for, and none is handed later.
func (m *Machine) Close() error {
	m.planMu.Lock()
	m.closed = true
	m.planMu.Unlock()
	return m.backend.Close()
}

// RedactURL hides the password of a URL's user information, so image
// URLs can be shown and logged.
func RedactURL(raw string) string { return fetch.RedactURL(raw) }

// host is the Machine as its backend sees it (Host).
type host struct{ m *Machine }

func (h host) PowerChanged(from, to PowerState) { h.m.powerChanged(from, to) }
func (h host) Booted() BootResult               { return h.m.Boot() }
func (h host) LogEvent(e Event)                 { h.m.LogEvent(e) }
