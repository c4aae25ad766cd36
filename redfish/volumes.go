package redfish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// volumeRoutes serves the RAID volumes of the system's Storage: the
// VolumeCollection lists them and creates one (POST), a Volume is read
// and deleted (DELETE), as Ironic's redfish RAID interface does through
// sushy (VolumeCollection.create, Volume.delete).
//
// Both take @Redfish.OperationApplyTime (DSP0266 "Operation apply time"),
// one of the values the collection's and each volume's
// @Redfish.OperationApplyTimeSupport lists, the RAID controller's
// (hardware.StorageController.ApplyTimes): Immediate (the default when the
// request names none) answers 201 with the Volume, or 204 for a deletion;
// OnReset stages the change in the controller, applied when the host
// firmware next starts, and answers 202 with a Task that is Pending until
// then (its monitor answers 202, then 201 with the Volume's Location, or
// 204), as Ironic waits for it across the reboot it then requests. A
// machine without a RAID controller has no apply times, and POST and
// DELETE answer 405.
func (s *Service) volumeRoutes() {
	s.handle("/redfish/v1/Systems/{sys}/Storage/1/Volumes", &resource{
		get: func(r *http.Request) (any, error) {
			m, err := s.machine(r, "VolumeCollection")
			if err != nil {
				return nil, err
			}
			ids := []string{}
			for _, v := range m.Volumes() {
				ids = append(ids, volumePath(m.ID(), v.ID))
			}
			c := collection("VolumeCollection", "Volume Collection", volumesPath(m.ID()), ids)
			if ctl, ok := m.RAIDController(); ok {
				c[applyTimeSupport] = M{"SupportedValues": ctl.ApplyTimes}
			}
			return c, nil
		},
		post: s.createVolume, postPriv: auth.PrivConfigureComponents,
	})
	s.handle("/redfish/v1/Systems/{sys}/Storage/1/Volumes/{vol}", &resource{
		get: func(r *http.Request) (any, error) {
			m, err := s.machine(r, "Volume")
			if err != nil {
				return nil, err
			}
			id := chi.URLParam(r, "vol")
			v, ok := m.Volume(id)
			if !ok {
				return nil, notFound("Volume", id)
			}
			return renderVolume(m, v), nil
		},
		deleteReply: s.deleteVolume, deletePriv: auth.PrivConfigureComponents,
	})
}

const (
	applyTimeAnnotation = "@Redfish.OperationApplyTime"
	applyTimeSupport    = "@Redfish.OperationApplyTimeSupport"
)

func volumesPath(sys string) string        { return storagePath(sys) + "/Volumes" }
func volumePath(sys, volume string) string { return volumesPath(sys) + "/" + volume }

// volumeTypes is the deprecated VolumeType of each RAID level, which
// clients (Ironic) still send beside RAIDType.
var volumeTypes = map[string]string{
	"RAID0": "NonRedundant", "RAID1": "Mirrored", "RAID5": "StripedWithParity",
	"RAID6": "StripedWithParity", "RAID10": "SpannedMirrors",
}

// renderVolume is a Volume (v1_10_2): Name is the label the controller
// keeps (also DisplayName), else "Volume {Id}"; RAIDType is absent when
// the volume is not a RAID volume.
func renderVolume(m *hardware.Machine, v hardware.Volume) M {
	sys := m.ID()
	drives := []link{}
	for _, d := range v.Drives {
		drives = append(drives, link{drivePath(sys, d)})
	}
	out := M{
		"@odata.type":    "#Volume.v1_10_2.Volume",
		"@odata.id":      volumePath(sys, v.ID),
		"Id":             v.ID,
		"Name":           "Volume " + v.ID,
		"CapacityBytes":  v.CapacityBytes,
		"BlockSizeBytes": 512,
		"Encrypted":      false,
		"Status":         enabledStatus(),
		"Links":          M{"Drives": drives, "Drives@odata.count": len(drives)},
	}
	if v.Name != "" {
		out["Name"], out["DisplayName"] = v.Name, v.Name
	}
	if v.RAIDType != "" {
		out["RAIDType"] = v.RAIDType
	}
	if ctl, ok := m.RAIDController(); ok {
		out[applyTimeSupport] = M{"SupportedValues": ctl.ApplyTimes}
		out["Links"].(M)["Controllers"] = []link{{storagePath(sys) + "/Controllers/" + ctl.ID}}
		out["Links"].(M)["Controllers@odata.count"] = 1
	}
	return out
}

// volumeBody is a POST to the VolumeCollection: what a RAID controller
// needs to build a volume, and the properties clients send beside it.
type volumeBody struct {
	Name          *string `json:"Name"`
	DisplayName   *string `json:"DisplayName"`
	RAIDType      *string `json:"RAIDType"`
	VolumeType    *string `json:"VolumeType" validate:"omitempty,oneof=RawDevice NonRedundant Mirrored StripedWithParity SpannedMirrors SpannedStripesWithParity"`
	CapacityBytes *int64  `json:"CapacityBytes"`
	Encrypted     *bool   `json:"Encrypted"`
	Links         *struct {
		Drives []link `json:"Drives"`
	} `json:"Links"`
}

// volumeReadOnly are the Volume properties a client cannot set on create.
var volumeReadOnly = map[string]bool{
	"Id": true, "Status": true, "BlockSizeBytes": true, "Identifiers": true, "Operations": true,
	"Manufacturer": true, "Model": true, "Description": true, "MediaSpanCount": true,
	"LogicalUnitNumber": true, "VolumeUsage": true, "WriteCacheState": true, "Actions": true,
}

// createVolume builds a volume (POST to the VolumeCollection): RAIDType
// (or, without it, a VolumeType that names one level) and Links.Drives
// (the Drives' URIs) are required; CapacityBytes defaults to the most the
// drives hold; Name or DisplayName (the same label, at most 15 characters)
// is optional; Encrypted may only be false; VolumeType, if sent, must be
// RAIDType's. Every problem is reported (see volumeErrors). Immediate: 201
// with Location and the Volume. OnReset: 202 with a Pending Task.
func (s *Service) createVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := s.machine(r, "VolumeCollection")
	if err != nil {
		return err
	}
	if _, ok := m.RAIDController(); !ok {
		return noRAID()
	}
	at, err := operationApplyTime(r, false)
	if err != nil {
		return err
	}
	var b volumeBody
	if _, err := decodeBody(r, &b, bodyKind{readOnly: func(n string) bool { return volumeReadOnly[n] }}); err != nil {
		return err
	}
	req := hardware.VolumeRequest{CapacityBytes: b.CapacityBytes, ApplyTime: at}
	var msgs []message
	switch {
	case b.Name != nil && b.DisplayName != nil && *b.Name != *b.DisplayName:
		msgs = append(msgs, newMessage("PropertyValueConflict", "DisplayName", "Name"))
	case b.DisplayName != nil:
		req.Name = *b.DisplayName
	case b.Name != nil:
		req.Name = *b.Name
	}
	if b.Encrypted != nil && *b.Encrypted {
		msgs = append(msgs, newMessage("PropertyValueNotInList", "true", "/Encrypted"))
	}
	switch {
	case b.RAIDType != nil:
		req.RAIDType = *b.RAIDType
		if b.VolumeType != nil && *b.VolumeType != volumeTypes[req.RAIDType] && volumeTypes[req.RAIDType] != "" {
			msgs = append(msgs, newMessage("PropertyValueConflict", "VolumeType", "RAIDType"))
		}
	case b.VolumeType != nil:
		// Clients older than RAIDType (Volume v1_3_1) name the level so.
		for level, vt := range volumeTypes {
			if vt == *b.VolumeType && vt != "StripedWithParity" {
				req.RAIDType = level
			}
		}
	}
	var sent []string // the drive URIs as the client wrote them
	if b.Links != nil {
		for _, d := range b.Links.Drives {
			sent = append(sent, d.ID)
			req.Drives = append(req.Drives, driveID(m.ID(), d.ID))
		}
	}
	if err := m.CheckVolume(req); err != nil || len(msgs) > 0 {
		return volumeErrors(m.ID(), err, msgs, sent)
	}
	v, op, err := m.CreateVolume(req)
	if err != nil {
		return volumeErrors(m.ID(), err, nil, sent)
	}
	if op == nil {
		w.Header().Set("Location", volumePath(m.ID(), v.ID))
		writeJSON(w, http.StatusCreated, renderVolume(m, v))
		return nil
	}
	res := &taskResume{Kind: "CreateVolume", System: m.ID(), OpID: op.ID, Volume: v.ID}
	t := s.tasks.runPending(fmt.Sprintf("Create volume %s (%s)", v.ID, v.RAIDType), r, resetRequired(m), res, volumeTaskFn(m, res))
	accepted(w, t)
	return nil
}

// deleteVolume deletes a volume: at once (204), or at the next host boot
// (OnReset: 202 with a Pending Task). The body may be empty or carry only
// @Redfish.OperationApplyTime. A volume whose deletion is staged already
// is 409 ResourceInUse (in transition).
func (s *Service) deleteVolume(w http.ResponseWriter, r *http.Request) error {
	m, err := s.machine(r, "Volume")
	if err != nil {
		return err
	}
	if _, ok := m.RAIDController(); !ok {
		return noRAID()
	}
	id := chi.URLParam(r, "vol")
	if _, ok := m.Volume(id); !ok {
		return notFound("Volume", id)
	}
	at, err := operationApplyTime(r, true)
	if err != nil {
		return err
	}
	op, err := m.DeleteVolume(id, at)
	switch {
	case errors.Is(err, hardware.ErrNotFound):
		return notFound("Volume", id) // deleted meanwhile
	case err != nil:
		return volumeErrors(m.ID(), err, nil, nil)
	case op == nil:
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	res := &taskResume{Kind: "DeleteVolume", System: m.ID(), OpID: op.ID, Volume: id}
	t := s.tasks.runPending("Delete volume "+id, r, resetRequired(m), res, volumeTaskFn(m, res))
	accepted(w, t)
	return nil
}

// noRAID refuses to create or delete volumes on a machine without a RAID
// controller: the method is not one this resource has there.
func noRAID() *apiError {
	e := apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed")
	e.header = http.Header{"Allow": {"GET, HEAD"}}
	return e
}

// resetRequired is what a staged volume change waits for: the system's
// reset, which runs the host firmware that applies it.
func resetRequired(m *hardware.Machine) []message {
	return []message{newMessage("ResetRequired", systemPath(m.ID())+"/Actions/ComputerSystem.Reset", string(hardware.ResetForceRestart))}
}

// volumeTaskFn is the work of a Pending volume task: wait until the host
// firmware has applied the staged change res names, then report it (a
// create: Created, and the Volume for the monitor's 201). It serves the
// request that staged the change and, after a restart of bmcd, the task
// brought back (resumeVolumeTasks).
func volumeTaskFn(m *hardware.Machine, res *taskResume) func(context.Context, *taskProgress) error {
	return func(ctx context.Context, p *taskProgress) error {
		if err := awaitVolumeOp(ctx, m, res.OpID); err != nil {
			return err
		}
		if res.Kind != "CreateVolume" {
			p.replace()
			return nil
		}
		if now, ok := m.Volume(res.Volume); ok {
			p.created(volumePath(m.ID(), res.Volume), renderVolume(m, now))
		}
		p.replace(newMessage("Created"))
		return nil
	}
}

// resumeVolumeTasks follows again, after a restart, the Pending tasks of
// staged volume changes: each completes when its change applies (at
// once if it applied already). A task whose machine is gone is an
// Exception, as one a restart cut short.
func (s *Service) resumeVolumeTasks() {
	for _, t := range s.tasks.pending() {
		m, ok := s.fleet.Machine(t.Resume.System)
		if !ok {
			s.tasks.resumePending(t.ID, func(context.Context, *taskProgress) error { return interruptedError() })
			continue
		}
		s.tasks.resumePending(t.ID, volumeTaskFn(m, t.Resume))
	}
}

// awaitVolumeOp waits until the host firmware has applied the staged
// change op.
func awaitVolumeOp(ctx context.Context, m *hardware.Machine, op uint64) error {
	select {
	case <-m.VolumeOpDone(op):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// driveID is the Disk a Drive URI names: the Chassis URI or the Storage's
// deprecated one. Anything else is returned as is, and names no disk.
func driveID(sys, uri string) string {
	uri = strings.TrimSuffix(uri, "/")
	for _, prefix := range []string{drivePath(sys, ""), storagePath(sys) + "/Drives/"} {
		if id, ok := strings.CutPrefix(uri, prefix); ok && id != "" && !strings.Contains(id, "/") {
			return id
		}
	}
	return uri
}

// operationApplyTime reads the @Redfish.OperationApplyTime annotation of
// r's body ("" when absent), leaving the body for decodeBody. A DELETE
// (del) may have no body, or one with annotations only. Which values the
// machine takes is the machine's to say.
func operationApplyTime(r *http.Request, del bool) (hardware.ApplyTime, error) {
	raw, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", apiErr(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		}
		return "", apiErr(http.StatusBadRequest, "UnrecognizedRequestBody")
	}
	if len(bytes.TrimSpace(raw)) == 0 && del {
		return "", nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		if !del {
			return "", nil // decodeBody says what is wrong with it
		}
		return "", apiErr(http.StatusBadRequest, "MalformedJSON")
	}
	if del {
		for k := range top {
			if !strings.Contains(k, "@") {
				return "", apiErr(http.StatusBadRequest, "PropertyUnknown", pointer(k))
			}
		}
	}
	v, ok := top[applyTimeAnnotation]
	if !ok {
		return "", nil
	}
	var at string
	if json.Unmarshal(v, &at) != nil {
		return "", apiErr(http.StatusBadRequest, "PropertyValueTypeError", string(v), "/"+applyTimeAnnotation)
	}
	if at == "" {
		return "", apiErr(http.StatusBadRequest, "PropertyValueNotInList", at, "/"+applyTimeAnnotation)
	}
	return hardware.ApplyTime(at), nil
}

// volumeErrors renders a refused volume request with one message per
// problem, after msgs (the problems found before asking the machine).
// sent are the drive URIs of the request, which messages quote:
//
//   - a name too long → StringValueTooLong; a RAID type the controller
//     does not build, an unknown drive, an apply time the controller does
//     not take → PropertyValueNotInList; no RAIDType or Links.Drives →
//     CreateFailedMissingReqProperties;
//   - a drive named twice, or unlike the first (media type, protocol) →
//     PropertyValueConflict naming both positions (Links/Drives/1 and
//     Links/Drives/0); a drive count the RAID type does not take →
//     PropertyValueConflict of Links/Drives and RAIDType;
//   - a capacity of 0 or less, or more than the drives hold →
//     PropertyValueOutOfRange;
//   - a drive that belongs to a volume → PropertyValueResourceConflict
//     naming the volume (the VolumeCollection for one a staged change
//     will create). When every problem is of this kind the status is 409,
//     else 400.
//
// Other errors pass through (ErrBusy: 409 ResourceInUse).
func volumeErrors(sys string, err error, msgs []message, sent []string) error {
	var errs hardware.VolumeErrors
	if err != nil && !errors.As(err, &errs) {
		return err
	}
	out := &apiError{status: http.StatusBadRequest, msgs: msgs, cause: err}
	conflicts := 0
	for _, e := range errs {
		// The drives' property: a JSON pointer where the registry asks for
		// one, else its name (Links/Drives/1).
		name := "Links/Drives"
		value := e.Value
		if e.Index >= 0 {
			name += "/" + strconv.Itoa(e.Index)
			if e.Index < len(sent) {
				value = sent[e.Index]
			}
		}
		var msg message
		switch {
		case e.Field == hardware.VolumeFieldName:
			msg = newMessage("StringValueTooLong", e.Value, strconv.Itoa(hardware.MaxVolumeNameLength))
		case e.Field == hardware.VolumeFieldRAIDType && e.Problem == hardware.VolumeMissing:
			msg = newMessage("CreateFailedMissingReqProperties", "RAIDType")
		case e.Field == hardware.VolumeFieldRAIDType:
			msg = newMessage("PropertyValueNotInList", e.Value, "/RAIDType")
		case e.Field == hardware.VolumeFieldCapacity:
			msg = newMessage("PropertyValueOutOfRange", e.Value, "/CapacityBytes")
		case e.Field == hardware.VolumeFieldApplyTime:
			msg = newMessage("PropertyValueNotInList", e.Value, "/"+applyTimeAnnotation)
		case e.Problem == hardware.VolumeMissing:
			msg = newMessage("CreateFailedMissingReqProperties", "Links/Drives")
		case e.Problem == hardware.VolumeDuplicate, e.Problem == hardware.VolumeMixed:
			msg = newMessage("PropertyValueConflict", name, "Links/Drives/"+strconv.Itoa(e.Other))
		case e.Problem == hardware.VolumeDriveCount:
			msg = newMessage("PropertyValueConflict", name, "RAIDType")
		case e.Problem == hardware.VolumeInUse:
			holder := volumePath(sys, e.Volume)
			if e.Staged {
				holder = volumesPath(sys)
			}
			msg = newMessage("PropertyValueResourceConflict", name, value, holder)
			conflicts++
		default:
			msg = newMessage("PropertyValueNotInList", value, "/"+name)
		}
		out.msgs = append(out.msgs, msg)
	}
	if len(msgs) == 0 && conflicts == len(errs) {
		out.status = http.StatusConflict
	}
	return out
}
