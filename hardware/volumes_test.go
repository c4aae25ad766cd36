package hardware_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/store"
)

// raidBackend is a machine with a RAID controller: four SAS SSDs (one
// twice as large), a SATA HDD, an NVMe SSD and two SAS SSDs holding the
// volume it ships with. Its host boots at once on any reset.
type raidBackend struct {
	ctl  hardware.StorageController
	host hardware.Host
}

func (b *raidBackend) Info() hardware.Info {
	ssd := func(id string, size int64) hardware.Disk {
		return hardware.Disk{ID: id, Model: "SAS SSD", CapacityBytes: size, MediaType: "SSD", Protocol: "SAS"}
	}
	return hardware.Info{
		Disks: []hardware.Disk{ssd("A", 480e9), ssd("B", 480e9), ssd("C", 960e9), ssd("D", 480e9),
			{ID: "H", Model: "SATA HDD", CapacityBytes: 4e12, MediaType: "HDD", Protocol: "SATA"},
			{ID: "N", Model: "NVMe SSD", CapacityBytes: 960e9, MediaType: "SSD", Protocol: "NVMe"},
			ssd("E", 480e9), ssd("F", 480e9)},
		StorageControllers: []hardware.StorageController{{ID: "HBA", Name: "HBA"}, b.ctl},
		Volumes:            []hardware.Volume{{ID: "V1", Name: "shipped", CapacityBytes: 480e9, RAIDType: "RAID1", Drives: []string{"E", "F"}}},
	}
}
func (b *raidBackend) Attach(h hardware.Host) hardware.Parts {
	b.host = h
	return hardware.Parts{Power: b}
}
func (b *raidBackend) ResetTypes() []hardware.ResetType {
	return []hardware.ResetType{hardware.ResetOn}
}
func (b *raidBackend) PowerState(context.Context) (hardware.PowerState, error) {
	return hardware.PowerOn, nil
}
func (b *raidBackend) Reset(_ context.Context, _ hardware.ResetType) error {
	b.host.Booted()
	return nil
}
func (b *raidBackend) Close() error { return nil }

func newRAIDMachine(t *testing.T, ctl hardware.StorageController) *hardware.Machine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m, err := hardware.NewMachine("raid", &raidBackend{ctl: ctl}, db, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var raidController = hardware.StorageController{ID: "RAID", Name: "RAID controller",
	RAIDTypes:  []string{"RAID0", "RAID1", "RAID5", "RAID10", "RAID99"},
	ApplyTimes: []hardware.ApplyTime{hardware.ApplyImmediate, hardware.ApplyOnReset}}

func capacity(n int64) *int64 { return &n }

// TestCreateVolumeChecks is the RAID controller's check table: every
// problem of a request is reported, and a refused request changes nothing.
func TestCreateVolumeChecks(t *testing.T) {
	m := newRAIDMachine(t, raidController)
	if c, ok := m.RAIDController(); !ok || c.ID != "RAID" || slices.Contains(c.RAIDTypes, "RAID99") {
		t.Fatalf("RAID controller %+v %v: the first with known RAID types, without unknown ones", c, ok)
	}
	// A staged volume holds its drives as a present one does.
	if _, op, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"D"}, ApplyTime: hardware.ApplyOnReset}); err != nil || op == nil {
		t.Fatalf("staged create: %v %v", op, err)
	}
	type problem struct {
		field   hardware.VolumeField
		index   int
		problem hardware.VolumeProblem
	}
	for _, tc := range []struct {
		name string
		req  hardware.VolumeRequest
		want []problem                        // nil: accepted
		size int64                            // the capacity of an accepted volume
		with func(*hardware.VolumeError) bool // checks the first problem's details
	}{
		{name: "RAID1 of two, largest", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "B"}}, size: 480e9},
		{name: "RAID0 of unequal drives: the smallest counts", req: hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"A", "C"}}, size: 960e9},
		{name: "RAID5 of three", req: hardware.VolumeRequest{RAIDType: "RAID5", Drives: []string{"A", "B", "C"}}, size: 960e9},
		{name: "RAID0 of one, given size", req: hardware.VolumeRequest{Name: "scratch", RAIDType: "RAID0", Drives: []string{"N"}, CapacityBytes: capacity(1e9)}, size: 1e9},
		{name: "exactly the largest", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "B"}, CapacityBytes: capacity(480e9)}, size: 480e9},
		{name: "unknown RAID type", req: hardware.VolumeRequest{RAIDType: "RAID7", Drives: []string{"A"}},
			want: []problem{{hardware.VolumeFieldRAIDType, -1, hardware.VolumeNotInList}}},
		{name: "a level the controller does not offer", req: hardware.VolumeRequest{RAIDType: "RAID99", Drives: []string{"A"}},
			want: []problem{{hardware.VolumeFieldRAIDType, -1, hardware.VolumeNotInList}}},
		{name: "no RAID type", req: hardware.VolumeRequest{Drives: []string{"A"}},
			want: []problem{{hardware.VolumeFieldRAIDType, -1, hardware.VolumeMissing}}},
		{name: "no drives", req: hardware.VolumeRequest{RAIDType: "RAID0"},
			want: []problem{{hardware.VolumeFieldDrives, -1, hardware.VolumeMissing}}},
		{name: "unknown drive", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "Z"}},
			want: []problem{{hardware.VolumeFieldDrives, 1, hardware.VolumeNotInList}}},
		{name: "drive twice", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "A"}},
			want: []problem{{hardware.VolumeFieldDrives, 1, hardware.VolumeDuplicate}},
			with: func(e *hardware.VolumeError) bool { return e.Other == 0 && e.Value == "A" }},
		{name: "RAID1 of three", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "B", "C"}},
			want: []problem{{hardware.VolumeFieldDrives, -1, hardware.VolumeDriveCount}},
			with: func(e *hardware.VolumeError) bool { return e.Value == "3" }},
		{name: "RAID1 of one", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A"}},
			want: []problem{{hardware.VolumeFieldDrives, -1, hardware.VolumeDriveCount}}},
		{name: "RAID10 of an odd count", req: hardware.VolumeRequest{RAIDType: "RAID10", Drives: []string{"A", "B", "C", "N", "H"}},
			want: []problem{{hardware.VolumeFieldDrives, 3, hardware.VolumeMixed}, {hardware.VolumeFieldDrives, 4, hardware.VolumeMixed},
				{hardware.VolumeFieldDrives, -1, hardware.VolumeDriveCount}}},
		{name: "HDD with SSD", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "H"}},
			want: []problem{{hardware.VolumeFieldDrives, 1, hardware.VolumeMixed}},
			with: func(e *hardware.VolumeError) bool { return e.Other == 0 }},
		{name: "SAS with NVMe", req: hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"A", "N"}},
			want: []problem{{hardware.VolumeFieldDrives, 1, hardware.VolumeMixed}}},
		{name: "drive of a present volume", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "E"}},
			want: []problem{{hardware.VolumeFieldDrives, 1, hardware.VolumeInUse}},
			with: func(e *hardware.VolumeError) bool { return e.Volume == "V1" && !e.Staged }},
		{name: "drive of a staged volume", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"D", "A"}},
			want: []problem{{hardware.VolumeFieldDrives, 0, hardware.VolumeInUse}},
			with: func(e *hardware.VolumeError) bool { return e.Volume == "1" && e.Staged }},
		{name: "larger than the drives", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "B"}, CapacityBytes: capacity(480e9 + 1)},
			want: []problem{{hardware.VolumeFieldCapacity, -1, hardware.VolumeOutOfRange}},
			with: func(e *hardware.VolumeError) bool { return e.Max == 480e9 && e.Value == "480000000001" }},
		{name: "no capacity", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "B"}, CapacityBytes: capacity(0)},
			want: []problem{{hardware.VolumeFieldCapacity, -1, hardware.VolumeOutOfRange}}},
		{name: "negative capacity, bad drives", req: hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"Z"}, CapacityBytes: capacity(-1)},
			want: []problem{{hardware.VolumeFieldDrives, 0, hardware.VolumeNotInList}, {hardware.VolumeFieldDrives, -1, hardware.VolumeDriveCount},
				{hardware.VolumeFieldCapacity, -1, hardware.VolumeOutOfRange}}},
		{name: "name too long", req: hardware.VolumeRequest{Name: "sixteen-letters!", RAIDType: "RAID0", Drives: []string{"A"}},
			want: []problem{{hardware.VolumeFieldName, -1, hardware.VolumeTooLong}}},
		{name: "apply time not supported", req: hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"A"}, ApplyTime: "AtMaintenanceWindowStart"},
			want: []problem{{hardware.VolumeFieldApplyTime, -1, hardware.VolumeNotInList}}},
		{name: "everything wrong", req: hardware.VolumeRequest{Name: "a-name-too-long-for-it", RAIDType: "RAID3", Drives: []string{"A", "A", "E"}, ApplyTime: "Later"},
			want: []problem{{hardware.VolumeFieldName, -1, hardware.VolumeTooLong}, {hardware.VolumeFieldRAIDType, -1, hardware.VolumeNotInList},
				{hardware.VolumeFieldDrives, 1, hardware.VolumeDuplicate}, {hardware.VolumeFieldDrives, 2, hardware.VolumeInUse},
				{hardware.VolumeFieldApplyTime, -1, hardware.VolumeNotInList}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen, evs, before := m.Generation(), len(m.Events()), m.Volumes()
			if err := m.CheckVolume(tc.req); (err == nil) != (tc.want == nil) || m.Generation() != gen {
				t.Fatalf("CheckVolume: %v, or it changed something", err)
			}
			v, op, err := m.CreateVolume(tc.req)
			if tc.want == nil {
				if err != nil || op != nil {
					t.Fatalf("refused: %v", err)
				}
				if v.CapacityBytes != tc.size || v.RAIDType != tc.req.RAIDType || !slices.Equal(v.Drives, tc.req.Drives) || v.Name != tc.req.Name {
					t.Errorf("volume %+v", v)
				}
				if got, ok := m.Volume(v.ID); !ok || got.CapacityBytes != tc.size {
					t.Errorf("Volume(%s) %+v %v", v.ID, got, ok)
				}
				if ev := last(t, m.Events(), hardware.EventVolumeCreated); ev.Volume != v.ID || !strings.Contains(ev.Message, tc.req.RAIDType) {
					t.Errorf("event %+v", ev)
				}
				// Free the drives for the next case.
				if _, err := m.DeleteVolume(v.ID, ""); err != nil {
					t.Fatal(err)
				}
				return
			}
			var errs hardware.VolumeErrors
			if !errors.As(err, &errs) || !errors.Is(err, hardware.ErrInvalid) {
				t.Fatalf("error %v (%T), want VolumeErrors", err, err)
			}
			var got []problem
			for _, e := range errs {
				got = append(got, problem{e.Field, e.Index, e.Problem})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems %v, want %v", got, tc.want)
			}
			if tc.with != nil && !tc.with(errs[0]) {
				t.Errorf("first problem %+v", errs[0])
			}
			if m.Generation() != gen || len(m.Events()) != evs || !slices.EqualFunc(m.Volumes(), before, func(a, b hardware.Volume) bool { return a.ID == b.ID }) {
				t.Error("a refused request changed something")
			}
		})
	}
}

// TestVolumesImmediate: volumes created and deleted at once are logged,
// take the lowest free number, and survive a restart; a machine without a
// RAID controller refuses both.
func TestVolumesImmediate(t *testing.T) {
	e := newEnv(t)
	m := e.m
	if c, ok := m.RAIDController(); !ok || !slices.Equal(c.RAIDTypes, []string{"RAID0", "RAID1"}) ||
		!slices.Equal(c.ApplyTimes, []hardware.ApplyTime{hardware.ApplyImmediate, hardware.ApplyOnReset}) {
		t.Fatalf("the sim's RAID controller %+v %v", c, ok)
	}
	if len(m.Volumes()) != 0 {
		t.Fatalf("the sim ships with volumes %v", m.Volumes())
	}
	mirror, op, err := m.CreateVolume(hardware.VolumeRequest{Name: "os", RAIDType: "RAID1", Drives: []string{"Disk1", "Disk2"}, ApplyTime: hardware.ApplyImmediate})
	if err != nil || op != nil || mirror.ID != "1" || mirror.CapacityBytes != 4_000_787_030_016 {
		t.Fatalf("mirror %+v %v %v", mirror, op, err)
	}
	fast, _, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"Disk0"}, CapacityBytes: capacity(100 << 30)})
	if err != nil || fast.ID != "2" {
		t.Fatalf("fast %+v %v", fast, err)
	}
	if got := m.Info().Volumes; len(got) != 2 || got[0].ID != "1" || got[1].ID != "2" {
		t.Errorf("Info().Volumes %+v", got)
	}
	ev := last(t, m.Events(), hardware.EventVolumeCreated)
	if ev.Volume != "2" || ev.Message != "Volume 2 (RAID0 over Disk0, 107374182400 bytes) created" {
		t.Errorf("event %+v", ev)
	}
	e.reopen()
	m = e.m
	if got := m.Volumes(); len(got) != 2 || got[0].Name != "os" || !slices.Equal(got[0].Drives, []string{"Disk1", "Disk2"}) {
		t.Fatalf("after restart %+v", got)
	}
	if _, err := m.DeleteVolume("1", hardware.ApplyImmediate); err != nil {
		t.Fatal(err)
	}
	if ev := last(t, m.Events(), hardware.EventVolumeDeleted); ev.Volume != "1" || !strings.Contains(ev.Message, `Volume 1 "os" (RAID1 over Disk1, Disk2`) {
		t.Errorf("event %+v", ev)
	}
	if _, err := m.DeleteVolume("1", ""); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("deleting it again: %v", err)
	}
	var errs hardware.VolumeErrors
	if _, err := m.DeleteVolume("2", "AtMaintenanceWindowStart"); !errors.As(err, &errs) || errs[0].Field != hardware.VolumeFieldApplyTime {
		t.Errorf("delete at an apply time the controller lacks: %v", err)
	}
	// The number is free again, and so are the drives.
	again, _, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"Disk2"}})
	if err != nil || again.ID != "1" {
		t.Errorf("again %+v %v", again, err)
	}
	e.reopen()
	if got := e.m.Volumes(); len(got) != 2 || got[0].ID != "2" || got[1].ID != "1" {
		t.Errorf("after the second restart %+v", got)
	}

	none := newRAIDMachine(t, hardware.StorageController{ID: "HBA2", Name: "plain HBA"})
	if _, ok := none.RAIDController(); ok {
		t.Error("a machine without RAID types has a RAID controller")
	}
	if _, _, err := none.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"A"}}); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("create without RAID: %v", err)
	}
	if _, err := none.DeleteVolume("V1", ""); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("delete without RAID: %v", err)
	}
	if got := none.Volumes(); len(got) != 1 || got[0].ID != "V1" {
		t.Errorf("the backend's volumes %+v", got)
	}
}

// TestVolumesOnReset: staged changes wait, persisted, for the next time
// the host firmware starts, and apply there once and in order; a
// controller that builds only at once refuses to stage.
func TestVolumesOnReset(t *testing.T) {
	e := newEnv(t)
	m := e.m
	v, op, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"Disk1", "Disk2"}, ApplyTime: hardware.ApplyOnReset})
	if err != nil || op == nil || op.Kind != hardware.VolumeCreate || op.Volume.ID != v.ID || v.ID != "1" {
		t.Fatalf("staged %+v %+v %v", v, op, err)
	}
	if len(m.Volumes()) != 0 || count(m.Events(), hardware.EventVolumeCreated) != 0 {
		t.Fatal("a staged volume exists before the reset")
	}
	// Its number is taken, and its drives.
	other, _, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"Disk0"}, ApplyTime: hardware.ApplyOnReset})
	if err != nil || other.ID != "2" {
		t.Fatalf("second staged %+v %v", other, err)
	}
	if _, _, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"Disk2"}}); err == nil {
		t.Error("a drive of a staged volume was taken again")
	}
	done := m.VolumeOpDone(op.ID)
	select {
	case <-done:
		t.Fatal("done before the reset")
	default:
	}

	e.reopen() // staged changes survive a restart
	m = e.m
	ops := m.StagedVolumeOps()
	if len(ops) != 2 || ops[0].ID != op.ID || ops[1].Volume.ID != "2" || ops[0].Requested.IsZero() {
		t.Fatalf("after restart staged %+v", ops)
	}
	done = m.VolumeOpDone(op.ID)
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "the boot", func() bool { return !m.LastBoot().Time.IsZero() })
	<-done
	if got := m.Volumes(); len(got) != 2 || got[0].ID != "1" || got[0].CapacityBytes != 4_000_787_030_016 || got[1].ID != "2" {
		t.Fatalf("after the boot %+v", got)
	}
	if len(m.StagedVolumeOps()) != 0 {
		t.Errorf("staged after the boot %+v", m.StagedVolumeOps())
	}
	evs := m.Events()
	created := last(t, evs, hardware.EventVolumeCreated)
	if created.Volume != "2" || !strings.HasSuffix(created.Message, "created at host reset") {
		t.Errorf("event %+v", created)
	}
	// Logged before the boot itself, as the controller applies it at POST.
	if i, j := slices.IndexFunc(evs, func(e hardware.Event) bool { return e.Kind == hardware.EventVolumeCreated }),
		slices.IndexFunc(evs, func(e hardware.Event) bool { return e.Kind == hardware.EventBoot }); i < 0 || j < i {
		t.Errorf("volume event %d, boot event %d", i, j)
	}
	// A done change is done at once.
	select {
	case <-m.VolumeOpDone(op.ID):
	default:
		t.Error("VolumeOpDone of an applied change blocks")
	}

	// A staged deletion: the volume stays until the reset, once.
	del, err := m.DeleteVolume("1", hardware.ApplyOnReset)
	if err != nil || del == nil || del.Kind != hardware.VolumeDelete || del.ID <= op.ID {
		t.Fatalf("staged delete %+v %v", del, err)
	}
	if _, ok := m.Volume("1"); !ok {
		t.Error("deleted before the reset")
	}
	for _, at := range []hardware.ApplyTime{hardware.ApplyOnReset, hardware.ApplyImmediate} {
		if _, err := m.DeleteVolume("1", at); !errors.Is(err, hardware.ErrBusy) {
			t.Errorf("delete %s again: %v", at, err)
		}
	}
	if _, _, err := m.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID0", Drives: []string{"Disk1"}}); err == nil {
		t.Error("a drive of a volume staged for deletion was taken before the reset")
	}
	done = m.VolumeOpDone(del.ID)
	if err := m.Reset(context.Background(), hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	poll(t, "the deletion", func() bool { _, ok := m.Volume("1"); return !ok })
	<-done
	if ev := last(t, m.Events(), hardware.EventVolumeDeleted); ev.Volume != "1" || !strings.HasSuffix(ev.Message, "deleted at host reset") {
		t.Errorf("event %+v", ev)
	}
	n := len(m.Events())
	if err := m.Reset(context.Background(), hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	poll(t, "another boot", func() bool { return len(m.Events()) > n })
	if count(m.Events(), hardware.EventVolumeDeleted) != 1 || count(m.Events(), hardware.EventVolumeCreated) != 2 {
		t.Error("a change applied twice")
	}

	immediate := newRAIDMachine(t, hardware.StorageController{ID: "R", RAIDTypes: []string{"RAID1"}})
	var errs hardware.VolumeErrors
	if _, _, err := immediate.CreateVolume(hardware.VolumeRequest{RAIDType: "RAID1", Drives: []string{"A", "B"}, ApplyTime: hardware.ApplyOnReset}); !errors.As(err, &errs) ||
		errs[0].Field != hardware.VolumeFieldApplyTime || errs[0].Problem != hardware.VolumeNotInList {
		t.Errorf("OnReset on a controller that builds at once only: %v", err)
	}
	if _, err := immediate.DeleteVolume("V1", hardware.ApplyOnReset); !errors.As(err, &errs) {
		t.Errorf("staged delete on a controller that builds at once only: %v", err)
	}
	if _, err := immediate.DeleteVolume("V1", ""); err != nil {
		t.Errorf("delete the shipped volume: %v", err)
	}
}
