package hardware

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"
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
	SecureBoot  bool             `json:"secure_boot"`
	// SecureBootCurrent is what the firmware ran with at the last boot.
	SecureBootCurrent bool `json:"secure_boot_current"`
}

// Machine is one managed server: a backend plus the state a BMC keeps for
// it. All methods are safe for concurrent use.
type Machine struct {
	id      string
	backend Backend
	info    Info
	caps    Capabilities
	store   Store
	log     *slog.Logger

	gen atomic.Uint64 // bumped on every observable change

	mu        sync.Mutex
	st        state
	events    []Event
	lastEvent uint64
	lastBoot  BootResult
	lastReset time.Time
	inserting map[string]bool

	// The identify indication is volatile, as on real hardware.
	identifyUntil   time.Time
	identifyForever bool
	identifyTimer   *time.Timer

	consoleOnce sync.Once
	console     *Console // see console.go

	subs map[*subscriber]struct{} // event subscribers, see events.go
}

// NewMachine wraps backend as machine id, loading persisted state from st.
func NewMachine(id string, backend Backend, st Store, log *slog.Logger) (*Machine, error) {
	if log == nil {
		log = slog.Default()
	}
	m := &Machine{
		id:        id,
		backend:   backend,
		info:      backend.Info(),
		caps:      backend.Capabilities(),
		store:     st,
		log:       log.With("system", id),
		inserting: map[string]bool{},
	}
	if err := m.load(); err != nil {
		return nil, fmt.Errorf("load machine %s: %w", id, err)
	}
	if w, ok := backend.(PowerWatcher); ok {
		w.OnPowerChange(m.powerChanged)
	}
	m.Console() // attach the serial line now, so scrollback starts at once
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
	if m.st.Bios == nil {
		m.st.Bios = map[string]any{}
	}
	if _, ok := m.st.Bios["BootMode"]; !ok {
		m.st.Bios["BootMode"] = string(m.defaultMode())
	}
	for k, v := range m.info.BiosAttributes {
		if _, ok := m.st.Bios[k]; !ok {
			m.st.Bios[k] = v
		}
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
	return c
}

// ID is the machine's identifier, unique within the daemon.
func (m *Machine) ID() string { return m.id }

// Info is the machine's static inventory.
func (m *Machine) Info() Info { return m.info }

// Capabilities says what the machine's backend can do.
func (m *Machine) Capabilities() Capabilities { return m.caps }

// Generation changes whenever anything observable about the machine
// changes, so callers can cache what they render from it.
func (m *Machine) Generation() uint64 { return m.gen.Load() }

// PowerState asks the backend for the current power state.
func (m *Machine) PowerState(ctx context.Context) (PowerState, error) {
	return m.backend.PowerState(ctx)
}

// Reset carries out a power action.
func (m *Machine) Reset(ctx context.Context, r ResetType) error {
	if !m.caps.CanReset(r) {
		return fmt.Errorf("reset %s: %w", r, ErrNotSupported)
	}
	if err := m.backend.Reset(ctx, r, m); err != nil {
		return fmt.Errorf("reset %s: %w", r, err)
	}
	m.mu.Lock()
	m.lastReset = time.Now()
	if r == ResetNmi {
		m.logLocked(Event{Kind: EventNmi, Severity: SeverityWarning, Message: "Diagnostic interrupt (NMI) sent to the host"})
	}
	m.mu.Unlock()
	m.gen.Add(1)
	m.log.Info("reset", "type", r)
	return nil
}

// LastReset is when the last reset was requested (zero if never).
func (m *Machine) LastReset() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastReset
}

func (m *Machine) powerChanged(from, to PowerState) {
	m.mu.Lock()
	switch to {
	case PowerOn:
		m.logLocked(Event{Kind: EventPowerOn, Severity: SeverityOK, Message: "System powered on"})
	case PowerOff:
		m.logLocked(Event{Kind: EventPowerOff, Severity: SeverityOK, Message: "System powered off"})
	}
	m.mu.Unlock()
	m.gen.Add(1)
}

// Boot implements Firmware: the backend calls it when the host firmware
// picks its boot device. A one-time override is consumed here, pending BIOS
// settings are applied, and the choice is logged.
func (m *Machine) Boot() BootResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The boot happens whatever the store says, so the state changes even
	// if it cannot be persisted.
	st := m.st.clone()
	// Staged settings take effect at POST, before the firmware picks the
	// boot mode and device: a pending BootMode applies to this very boot.
	applied := len(st.BiosPending) > 0
	for k, v := range st.BiosPending {
		st.Bios[k] = v
	}
	st.BiosPending = nil
	ov := st.Override
	res := BootResult{Source: BootHdd, Mode: biosMode(st.Bios, m.defaultMode()), Time: time.Now()}
	if ov.Enabled != BootDisabled && ov.Target != BootNone {
		res.Source, res.Mode = ov.Target, ov.Mode
	}
	if ov.Enabled == BootOnce {
		st.Override.Enabled = BootDisabled
		st.Override.Target = BootNone
	}
	note, emptySlot := "", ""
	if slot, ok := m.slotForLocked(res.Source); ok {
		if md := st.Media[slot]; md.Inserted {
			res.Image = md.Image
		} else {
			note = fmt.Sprintf(" (no medium in %s, fell through to Hdd)", slot)
			res.Source, emptySlot = BootHdd, slot
		}
	}
	st.SecureBootCurrent = st.SecureBoot
	if err := m.store.Put(machinesBucket, m.id, &st); err != nil {
		m.log.Error("persist after boot", "err", err)
	}
	m.st = st
	m.lastBoot = res
	if applied {
		m.logLocked(Event{Kind: EventSettings, Severity: SeverityOK, Message: "Pending BIOS settings applied"})
	}
	msg := fmt.Sprintf("Host firmware booting from %s in %s mode", res.Source, res.Mode)
	if res.Image != "" {
		msg += " image " + RedactURL(res.Image)
	}
	m.logLocked(Event{Kind: EventBoot, Severity: SeverityOK, Message: msg + note,
		Source: res.Source, Mode: res.Mode, Image: RedactURL(res.Image), Slot: emptySlot})
	return res
}

func biosMode(bios map[string]any, def BootMode) BootMode {
	if s, ok := bios["BootMode"].(string); ok && (s == string(BootModeUEFI) || s == string(BootModeLegacy)) {
		return BootMode(s)
	}
	return def
}

func (m *Machine) slotForLocked(b BootSource) (string, bool) {
	for _, s := range m.caps.MediaSlots {
		if s.Boot == b {
			return s.ID, true
		}
	}
	return "", false
}

// LastBoot is what the firmware booted last (zero Time if never).
func (m *Machine) LastBoot() BootResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastBoot
}

// BootOverride returns the current override.
func (m *Machine) BootOverride() BootOverride {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Override
}

// BootOverrideSupported reports whether the backend can change the boot
// device. When it cannot, SetBootOverride accepts and ignores requests.
func (m *Machine) BootOverrideSupported() bool { return len(m.caps.BootTargets) > 0 }

// SetBootOverride records a new override for the next boot(s). Empty fields
// keep their current value. A backend without boot control accepts the call
// and changes nothing, as PiKVM does, so provisioning tools carry on.
func (m *Machine) SetBootOverride(ov BootOverride) error {
	if !m.BootOverrideSupported() {
		m.log.Debug("boot override ignored: backend has no boot control", "target", ov.Target)
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := m.st.Override
	if ov.Target != "" {
		if ov.Target != BootNone && !m.caps.CanBoot(ov.Target) {
			return fmt.Errorf("boot target %q: %w", ov.Target, ErrInvalid)
		}
		next.Target = ov.Target
	}
	if ov.Enabled != "" {
		switch ov.Enabled {
		case BootDisabled, BootOnce, BootContinuous:
		default:
			return fmt.Errorf("boot override enabled %q: %w", ov.Enabled, ErrInvalid)
		}
		next.Enabled = ov.Enabled
	}
	if ov.Mode != "" {
		if !containsMode(m.caps.BootModes, ov.Mode) {
			return fmt.Errorf("boot mode %q: %w", ov.Mode, ErrInvalid)
		}
		next.Mode = ov.Mode
	}
	if next == m.st.Override {
		return nil
	}
	if err := m.updateLocked(func(st *state) error { st.Override = next; return nil }); err != nil {
		return err
	}
	m.logLocked(Event{Kind: EventBootOverride, Severity: SeverityOK,
		Message: fmt.Sprintf("Boot override set: %s %s (%s)", next.Target, next.Enabled, next.Mode),
		Source:  next.Target, Enabled: next.Enabled, Mode: next.Mode})
	return nil
}

func containsMode(ms []BootMode, x BootMode) bool {
	for _, m := range ms {
		if m == x {
			return true
		}
	}
	return false
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

// InsertMedia attaches the image at rawURL to slot. The backend checks the
// image can be read before anything is recorded.
func (m *Machine) InsertMedia(ctx context.Context, slot, rawURL string, writeProtected bool) error {
	mb, ok := m.backend.(MediaBackend)
	if !ok {
		return fmt.Errorf("insert media: %w", ErrNotSupported)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("image %q: only http and https URLs are supported: %w", RedactURL(rawURL), ErrInvalid)
	}
	m.mu.Lock()
	md, ok := m.st.Media[slot]
	switch {
	case !ok:
		m.mu.Unlock()
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	case md.Inserted || m.inserting[slot]:
		m.mu.Unlock()
		return fmt.Errorf("slot %q already holds a medium: %w", slot, ErrBusy)
	}
	m.inserting[slot] = true
	m.mu.Unlock()

	size, format, err := mb.InsertMedia(ctx, slot, rawURL)

	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inserting, slot)
	if err != nil {
		return fmt.Errorf("insert media %s into %s: %w", RedactURL(rawURL), slot, err)
	}
	md.Image, md.Inserted, md.WriteProtected = rawURL, true, writeProtected
	md.Size, md.Format, md.InsertedAt = size, format, time.Now().UTC()
	if err := m.updateLocked(func(st *state) error { st.Media[slot] = md; return nil }); err != nil {
		return err
	}
	m.logLocked(Event{Kind: EventMediaInsert, Severity: SeverityOK,
		Message: fmt.Sprintf("Virtual media %s inserted into %s", RedactURL(rawURL), slot),
		Slot:    slot, Image: RedactURL(rawURL)})
	return nil
}

// EjectMedia detaches the medium in slot. Ejecting an empty slot succeeds.
func (m *Machine) EjectMedia(ctx context.Context, slot string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[slot]
	if !ok {
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	}
	if m.inserting[slot] {
		return fmt.Errorf("slot %q is still checking an image: %w", slot, ErrBusy)
	}
	if !md.Inserted {
		return nil
	}
	if mb, ok := m.backend.(MediaBackend); ok {
		if err := mb.EjectMedia(ctx, slot); err != nil {
			return fmt.Errorf("eject %s: %w", slot, err)
		}
	}
	img := md.Image
	err := m.updateLocked(func(st *state) error {
		st.Media[slot] = Media{SlotSpec: md.SlotSpec, Size: -1}
		return nil
	})
	if err != nil {
		return err
	}
	m.logLocked(Event{Kind: EventMediaEject, Severity: SeverityOK,
		Message: fmt.Sprintf("Virtual media %s ejected from %s", RedactURL(img), slot),
		Slot:    slot, Image: RedactURL(img)})
	return nil
}

// Bios returns the current attributes and those pending for the next boot.
func (m *Machine) Bios() (current, pending map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneMap(m.st.Bios), cloneMap(m.st.BiosPending)
}

// SetBiosPending stages attribute changes for the next boot. Attributes
// must exist and keep their type.
func (m *Machine) SetBiosPending(attrs map[string]any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range attrs {
		cur, ok := m.st.Bios[k]
		if !ok {
			return fmt.Errorf("BIOS attribute %q: %w", k, ErrNotFound)
		}
		if fmt.Sprintf("%T", cur) != fmt.Sprintf("%T", v) {
			return fmt.Errorf("BIOS attribute %q wants %T, got %T: %w", k, cur, v, ErrInvalid)
		}
		if k == "BootMode" && !containsMode(m.caps.BootModes, BootMode(fmt.Sprint(v))) {
			return fmt.Errorf("BIOS attribute BootMode %v: %w", v, ErrInvalid)
		}
	}
	return m.updateLocked(func(st *state) error {
		if st.BiosPending == nil {
			st.BiosPending = map[string]any{}
		}
		for k, v := range attrs {
			st.BiosPending[k] = v
		}
		return nil
	})
}

// ResetBios stages the factory attribute values for the next boot.
func (m *Machine) ResetBios() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateLocked(func(st *state) error {
		st.BiosPending = cloneMap(m.info.BiosAttributes)
		if st.BiosPending == nil {
			st.BiosPending = map[string]any{}
		}
		st.BiosPending["BootMode"] = string(m.defaultMode())
		return nil
	})
}

// SecureBoot returns whether Secure Boot is enabled for the next boot and
// whether the current boot used it.
func (m *Machine) SecureBoot() (enabled, current bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.SecureBoot, m.st.SecureBootCurrent
}

// SetSecureBoot enables or disables Secure Boot from the next boot on.
func (m *Machine) SetSecureBoot(on bool) error {
	if !m.caps.SecureBoot {
		return fmt.Errorf("secure boot: %w", ErrNotSupported)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateLocked(func(st *state) error { st.SecureBoot = on; return nil })
}

// Sensors returns the backend's readings, or none.
func (m *Machine) Sensors(ctx context.Context) ([]Sensor, error) {
	if sr, ok := m.backend.(SensorReader); ok {
		return sr.Sensors(ctx)
	}
	return nil, nil
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
func (m *Machine) Close() error { return m.backend.Close() }

// RedactURL hides the password of a URL's user information, so image
// URLs can be shown and logged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
