package redfish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// The UpdateService (Redfish UpdateService v1_17, DSP0266 §13.2 for the
// Task): SimpleUpdate fetches an image over http or https and installs it
// on the component it is for, as a Task whose Messages come from the
// Update registry. A component that needs a host reset (the BIOS) gets the
// image staged until the next power-on or restart, as a real BMC does.

const (
	updateServicePath = "/redfish/v1/UpdateService"
	simpleUpdateName  = "UpdateService.SimpleUpdate"
	// updateTimeout bounds one update of one target (the download).
	updateTimeout = 10 * time.Minute
	// settingsBucket holds service-wide settings in Config.Store.
	settingsBucket = "services"
	// maxFetching bounds the SimpleUpdate tasks fetching at once, and so
	// the images held in memory (each up to MaxFirmwareImageSize); later
	// tasks wait, Running at 0 %, for a turn.
	maxFetching = 4
)

// transferProtocols are the TransferProtocol values SimpleUpdate accepts.
var transferProtocols = []string{"HTTP", "HTTPS"}

// updateSettings is what the UpdateService persists: the TLS policy for
// SimpleUpdate's image servers.
type updateSettings struct {
	VerifyRemoteServerCertificate bool                   `json:"verify_remote_server_certificate"`
	RemoteServerCertificates      []hardware.Certificate `json:"remote_server_certificates,omitempty"`
}

// updateService holds the service's settings.
type updateService struct {
	s        *Service
	fetching chan struct{} // a slot per SimpleUpdate task fetching
	mu       sync.Mutex
	st       updateSettings
}

func (u *updateService) settings() updateSettings {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st
}

// change applies fn to a copy of the settings and, when it succeeds and
// the copy is persisted, makes it current: a failure changes nothing.
// fn must not modify slices of the current settings in place.
func (u *updateService) change(fn func(*updateSettings) error) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	next := u.st
	if err := fn(&next); err != nil {
		return err
	}
	if st := u.s.cfg.Store; st != nil {
		if err := st.Put(settingsBucket, "UpdateService", &next); err != nil {
			return internalError(err)
		}
	}
	u.st = next
	return nil
}

func (s *Service) updateServiceRoutes() {
	u := &updateService{s: s, fetching: make(chan struct{}, maxFetching)}
	if st := s.cfg.Store; st != nil {
		if _, err := st.Get(settingsBucket, "UpdateService", &u.st); err != nil {
			s.log.Error("load UpdateService settings", "err", err)
		}
	}
	s.handle(updateServicePath, &resource{get: u.get, patch: u.patch, patchPriv: auth.PrivConfigureComponents})
	s.handle(updateServicePath+"/SimpleUpdateActionInfo", &resource{get: u.actionInfo})
	s.handle(updateServicePath+"/Actions/"+simpleUpdateName, &resource{post: u.simpleUpdate, postPriv: auth.PrivConfigureComponents})
	u.remoteServerCertificateRoutes()
	s.firmwareInventoryRoutes()
	s.multipartRoutes(u)
}

func (u *updateService) get(*http.Request) (any, error) {
	return M{
		"@odata.type":                   "#UpdateService.v1_17_0.UpdateService",
		"@odata.id":                     updateServicePath,
		"Id":                            "UpdateService",
		"Name":                          "Update Service",
		"ServiceEnabled":                true,
		"Status":                        enabledStatus(),
		"FirmwareInventory":             link{firmwareInventoryPath},
		"MaxImageSizeBytes":             hardware.MaxFirmwareImageSize,
		"MultipartHttpPushUri":          multipartPushPath,
		"VerifyRemoteServerCertificate": u.settings().VerifyRemoteServerCertificate,
		"RemoteServerCertificates":      link{remoteServerCertificatesPath},
		"Actions": M{
			"#" + simpleUpdateName: M{
				"target":              updateServicePath + "/Actions/" + simpleUpdateName,
				"@Redfish.ActionInfo": updateServicePath + "/SimpleUpdateActionInfo",
				"TransferProtocol@Redfish.AllowableValues": transferProtocols,
			},
		},
	}, nil
}

var updateServiceReadOnly = map[string]bool{"Id": true, "Name": true, "Status": true, "ServiceEnabled": true,
	"FirmwareInventory": true, "MaxImageSizeBytes": true, "MultipartHttpPushUri": true, "RemoteServerCertificates": true, "Actions": true}

// patch sets VerifyRemoteServerCertificate: whether SimpleUpdate checks
// an https image server's certificate, against RemoteServerCertificates
// only (see remoteservercertificates.go).
func (u *updateService) patch(r *http.Request) error {
	var p struct {
		VerifyRemoteServerCertificate *bool `json:"VerifyRemoteServerCertificate" validate:"required"`
	}
	if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return updateServiceReadOnly[n] }}); err != nil {
		return err
	}
	return u.change(func(st *updateSettings) error {
		st.VerifyRemoteServerCertificate = *p.VerifyRemoteServerCertificate
		return nil
	})
}

// updateTargets are what Targets may name: each system (its components
// that an image is for) and each updateable component.
func (u *updateService) updateTargets() []string {
	out := []string{} // none is [], never null: AllowableValues is an array
	for _, m := range u.s.fleet.Machines() {
		var comps []string
		for _, c := range m.Firmware() {
			if c.Updateable {
				comps = append(comps, firmwarePath(m, c.ID))
			}
		}
		if len(comps) > 0 {
			out = append(append(out, systemPath(m.ID())), comps...)
		}
	}
	return out
}

func (u *updateService) actionInfo(*http.Request) (any, error) {
	return M{
		"@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
		"@odata.id":   updateServicePath + "/SimpleUpdateActionInfo",
		"Id":          "SimpleUpdateActionInfo",
		"Name":        "Simple Update Action Info",
		"Parameters": []M{
			{"Name": "ImageURI", "Required": true, "DataType": "String", "AllowablePattern": imagePattern},
			{"Name": "TransferProtocol", "Required": false, "DataType": "String", "AllowableValues": transferProtocols},
			{"Name": "Targets", "Required": false, "DataType": "StringArray", "AllowableValues": u.updateTargets()},
			{"Name": "Username", "Required": false, "DataType": "String"},
			{"Name": "Password", "Required": false, "DataType": "String"},
			{"Name": "ForceUpdate", "Required": false, "DataType": "Boolean"},
		},
	}, nil
}

type simpleUpdateBody struct {
	ImageURI         *string  `json:"ImageURI" validate:"required"`
	TransferProtocol *string  `json:"TransferProtocol" validate:"omitempty,oneof=CIFS FTP SFTP HTTP HTTPS NSF SCP TFTP OEM NFS"`
	Targets          []string `json:"Targets"`
	ExcludeTargets   []string `json:"ExcludeTargets"`
	Username         *string  `json:"Username"`
	Password         *string  `json:"Password"`
	ForceUpdate      *bool    `json:"ForceUpdate"`
	Stage            *bool    `json:"Stage"`
	LocalImage       *bool    `json:"LocalImage"`
}

// imageURL is the URL to fetch: ImageURI with the scheme TransferProtocol
// names when ImageURI has none (HTTP when neither says), and Username and
// Password as its user information. Only http and https are fetched.
func (b *simpleUpdateBody) imageURL() (string, error) {
	raw := *b.ImageURI
	if !strings.Contains(raw, "://") {
		scheme := "http"
		if b.TransferProtocol != nil {
			if !slices.Contains(transferProtocols, *b.TransferProtocol) {
				return "", apiErr(http.StatusBadRequest, "ActionParameterValueNotInList", *b.TransferProtocol, "TransferProtocol", simpleUpdateName)
			}
			scheme = strings.ToLower(*b.TransferProtocol)
		}
		raw = scheme + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", hardware.RedactURL(*b.ImageURI), "ImageURI", simpleUpdateName)
	}
	if b.Username != nil || b.Password != nil {
		var user, pass string
		if b.Username != nil {
			user = *b.Username
		}
		if b.Password != nil {
			pass = *b.Password
		}
		u.User = url.UserPassword(user, pass)
	}
	return u.String(), nil
}

// notSupported rejects the parameters bmcd does not implement.
func (b *simpleUpdateBody) notSupported() error {
	switch {
	case b.Stage != nil && *b.Stage:
		return apiErr(http.StatusBadRequest, "ActionParameterNotSupported", "Stage", simpleUpdateName)
	case b.LocalImage != nil && *b.LocalImage:
		return apiErr(http.StatusBadRequest, "ActionParameterNotSupported", "LocalImage", simpleUpdateName)
	case len(b.ExcludeTargets) > 0:
		return apiErr(http.StatusBadRequest, "ActionParameterNotSupported", "ExcludeTargets", simpleUpdateName)
	}
	return nil
}

// updateTarget is one place an image goes.
type updateTarget struct {
	m         *hardware.Machine
	component string // "" = whichever component the image is for
}

// uri names the target in messages.
func (t updateTarget) uri() string {
	if t.component == "" {
		return systemPath(t.m.ID())
	}
	return firmwarePath(t.m, t.component)
}

// resolveTargets maps Targets (URIs of systems or of updateable
// FirmwareInventory members, relative or absolute) to update targets.
// None means every system that can update firmware. Anything else is 400
// before any task starts.
func (s *Service) resolveTargets(targets []string, action string) ([]updateTarget, error) {
	var out []updateTarget
	seen := map[updateTarget]bool{}
	add := func(t updateTarget) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, raw := range targets {
		t, ok := s.resolveTarget(raw)
		if !ok {
			return nil, apiErr(http.StatusBadRequest, "ActionParameterValueNotInList", raw, "Targets", action)
		}
		add(t)
	}
	if len(targets) == 0 {
		for _, m := range s.fleet.Machines() {
			if canUpdate(m) {
				add(updateTarget{m: m})
			}
		}
		if len(out) == 0 {
			return nil, apiErr(http.StatusBadRequest, "ActionNotSupported", action)
		}
	}
	return out, nil
}

func (s *Service) resolveTarget(raw string) (updateTarget, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return updateTarget{}, false
	}
	p := strings.TrimRight(u.Path, "/")
	if id, ok := strings.CutPrefix(p, systemPath("")); ok {
		if m, ok := s.fleet.Machine(id); ok && m.ID() == id && canUpdate(m) {
			return updateTarget{m: m}, true
		}
		return updateTarget{}, false
	}
	if id, ok := strings.CutPrefix(p, firmwareInventoryPath+"/"); ok {
		if e, ok := s.firmwareEntry(id); ok && e.m != nil && !e.staged && e.c.Updateable {
			return updateTarget{m: e.m, component: e.c.ID}, true
		}
	}
	return updateTarget{}, false
}

// canUpdate reports whether a machine has any updateable firmware.
func canUpdate(m *hardware.Machine) bool {
	for _, c := range m.Firmware() {
		if c.Updateable {
			return true
		}
	}
	return false
}

func (u *updateService) simpleUpdate(w http.ResponseWriter, r *http.Request) error {
	var b simpleUpdateBody
	if _, err := decodeBody(r, &b, bodyKind{action: simpleUpdateName}); err != nil {
		return err
	}
	if err := b.notSupported(); err != nil {
		return err
	}
	image, err := b.imageURL()
	if err != nil {
		return err
	}
	targets, err := u.s.resolveTargets(b.Targets, simpleUpdateName)
	if err != nil {
		return err
	}
	src := hardware.ImageSource{URL: image, TLS: u.settings().tlsPolicy()}
	shown := hardware.RedactURL(image)
	t, err := u.s.tasks.runProgress("Firmware update "+shown, r, 0, func(ctx context.Context, p *taskProgress) error {
		p.set(0)
		select {
		case u.fetching <- struct{}{}:
			defer func() { <-u.fetching }()
		case <-ctx.Done():
			return ctx.Err()
		}
		return runUpdate(ctx, p, targets, shown, func(ctx context.Context, t updateTarget, progress func(hardware.FirmwareProgress)) (hardware.FirmwareResult, error) {
			ctx, cancel := context.WithTimeout(ctx, updateTimeout)
			defer cancel()
			return t.m.UpdateFirmware(ctx, t.component, src, progress)
		})
	})
	if err != nil {
		return err
	}
	accepted(w, t)
	return nil
}

// installFunc installs the image on one target, reporting progress.
type installFunc func(ctx context.Context, t updateTarget, progress func(hardware.FirmwareProgress)) (hardware.FirmwareResult, error)

// runUpdate installs an image (named image in messages) on each target in
// turn, reporting in the task: TargetDetermined, TransferringToComponent,
// VerifyingAtComponent, then AwaitToActivate (staged until a reset, with
// Base ResetRequired) or UpdateSuccessful. A system target the image does
// not apply to is UpdateNotApplicable and skipped when there are others;
// the update fails when it applies nowhere. Any other failure ends the
// update with the Update message that says where (TransferFailed,
// VerificationFailed, ...) and the Base error that says why.
func runUpdate(ctx context.Context, p *taskProgress, targets []updateTarget, image string, install installFunc) error {
	p.set(0)
	applied := 0
	var skipped error
	for i, t := range targets {
		span := 100 / len(targets)
		base := i * span
		if t.component != "" {
			p.set(-1, updateMessage("TargetDetermined", t.uri(), image))
		}
		transferring, verifying := false, false
		res, err := install(ctx, t, func(fp hardware.FirmwareProgress) {
			switch fp.Phase {
			case hardware.FirmwareTransferring:
				pct := base
				if fp.Total > 0 {
					pct += int(int64(span) * 8 / 10 * min(fp.Done, fp.Total) / fp.Total)
				}
				if !transferring {
					transferring = true
					p.set(pct, updateMessage("TransferringToComponent", image, t.uri()))
				} else {
					p.set(pct)
				}
			case hardware.FirmwareVerifying:
				if verifying {
					return
				}
				verifying = true
				target := firmwarePath(t.m, fp.Component)
				var msgs []message
				if t.component == "" {
					msgs = append(msgs, updateMessage("TargetDetermined", target, image))
				}
				p.set(base+span*9/10, append(msgs, updateMessage("VerifyingAtComponent", image, target))...)
			}
		})
		if err != nil {
			msg, ae := updateError(err, image, t)
			p.set(-1, msg)
			if errors.Is(err, hardware.ErrFirmwareNotApplicable) && t.component == "" && len(targets) > 1 {
				skipped = ae
				continue
			}
			return ae
		}
		applied++
		target := firmwarePath(t.m, res.Component.ID)
		if res.Staged {
			p.set(base+span, updateMessage("AwaitToActivate", image, target),
				newMessage("ResetRequired", systemPath(t.m.ID())+"/Actions/ComputerSystem.Reset", string(hardware.ResetForceRestart)))
		} else {
			p.set(base+span, updateMessage("UpdateSuccessful", target, image))
		}
	}
	if applied == 0 && skipped != nil {
		p.set(-1, updateMessage("NoTargetsDetermined", image))
		return skipped
	}
	return nil
}

// updateError maps a failed update of target to the Update message for
// the task and the Base error for the task monitor.
func updateError(err error, image string, t updateTarget) (message, *apiError) {
	target := t.uri()
	var me *hardware.MediaError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// The update's own time limit (updateTimeout), not the server's
		// fault: checked before the fetch classes, which would call it
		// CouldNotEstablishConnection.
		return updateMessage("TransferFailed", image, target), withCause(apiErr(http.StatusBadRequest, "OperationTimeout"), err)
	case errors.As(err, &me):
		// Classified by internal/fetch and mapped as virtual media's
		// fetches are (fetchError); an untrusted certificate is the cause
		// of a CouldNotEstablishConnection, logged, not sent.
		return updateMessage("TransferFailed", image, target), fetchError(me, hardware.RedactURL(me.URL))
	case errors.Is(err, hardware.ErrFirmwareTooLarge):
		return updateMessage("TransferFailed", image, target), withCause(apiErr(http.StatusBadRequest, "PayloadTooLarge"), err)
	case errors.Is(err, hardware.ErrFirmwareNotApplicable):
		param, value := "Targets", target
		if t.component == "" {
			param, value = "ImageURI", image
		}
		return updateMessage("UpdateNotApplicable", image, target),
			withCause(apiErr(http.StatusBadRequest, "ActionParameterValueConflict", param, value), err)
	case errors.Is(err, hardware.ErrFirmwareImage):
		return updateMessage("VerificationFailed", image, target),
			withCause(apiErr(http.StatusBadRequest, "ResourceAtUriInUnknownFormat", image), err)
	case errors.Is(err, hardware.ErrBusy):
		return updateMessage("UpdateInProgress"), withCause(apiErr(http.StatusConflict, "ResourceInUse"), err)
	}
	return updateMessage("ApplyFailed", image, target), fromHardware(fmt.Errorf("update %s: %w", target, err))
}
