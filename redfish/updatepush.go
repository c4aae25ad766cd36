package redfish

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// The multipart HTTP push update (DSP0266 "Multipart HTTP push updates",
// UpdateService.MultipartHttpPushUri): a multipart/form-data POST with an
// UpdateParameters part (JSON: Targets, ForceUpdate) and an UpdateFile
// part (the image), answered 202 with a Task as SimpleUpdate is.

const (
	multipartPushPath = updateServicePath + "/update-multipart"
	multipartPushName = "MultipartHttpPushUri"
	// multipartSlack is what a push body may hold beyond the image: the
	// parameters and the multipart framing.
	multipartSlack = 1 << 20
)

// pushParameters is the UpdateParameters part.
type pushParameters struct {
	Targets        []string `json:"Targets"`
	ExcludeTargets []string `json:"ExcludeTargets"`
	ForceUpdate    *bool    `json:"ForceUpdate"`
	Stage          *bool    `json:"Stage"`
	LocalImage     *bool    `json:"LocalImage"`
	Oem            any      `json:"Oem"`
}

func (s *Service) multipartRoutes(u *updateService) {
	// One push at a time holds its image in memory.
	busy := make(chan struct{}, 1)
	s.handle(multipartPushPath, &resource{
		postPriv: auth.PrivConfigureComponents,
		maxBody:  hardware.MaxFirmwareImageSize + multipartSlack,
		post: func(w http.ResponseWriter, r *http.Request) error {
			select {
			case busy <- struct{}{}:
			default:
				return withCause(apiErr(http.StatusConflict, "ResourceInUse"), errors.New("another push update is being received; retry when it is done"))
			}
			release := func() { <-busy }
			err := u.push(w, r, release)
			if err != nil {
				release()
			}
			return err
		},
	})
}

// push reads the parts, resolves the targets and starts the task, which
// calls release when the image is no longer needed.
func (u *updateService) push(w http.ResponseWriter, r *http.Request, release func()) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return withCause(apiErr(http.StatusBadRequest, "UnrecognizedRequestBody"), errors.New("send multipart/form-data with UpdateParameters and UpdateFile parts"))
	}
	var (
		params *pushParameters
		img    *hardware.FirmwareImage
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bodyError(err)
		}
		switch part.FormName() {
		case "UpdateParameters":
			raw, err := io.ReadAll(io.LimitReader(part, maxRequestBodySize+1))
			if err != nil {
				return bodyError(err)
			}
			if len(raw) > maxRequestBodySize {
				return apiErr(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
			}
			var p pushParameters
			pr := r.Clone(r.Context())
			pr.Body = io.NopCloser(bytes.NewReader(raw))
			pr.Header.Del("Content-Type") // the request's is multipart; the part is JSON by its name
			if _, err := decodeBody(pr, &p, bodyKind{action: multipartPushName}); err != nil {
				return err
			}
			params = &p
		case "UpdateFile":
			data, err := io.ReadAll(io.LimitReader(part, hardware.MaxFirmwareImageSize+1))
			if err != nil {
				return bodyError(err)
			}
			if len(data) > hardware.MaxFirmwareImageSize {
				return apiErr(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
			}
			img = &hardware.FirmwareImage{Name: part.FileName(), Data: data}
		case "OemParameters":
			if _, err := io.Copy(io.Discard, part); err != nil {
				return bodyError(err)
			}
		default:
			return apiErr(http.StatusBadRequest, "ActionParameterUnknown", multipartPushName, part.FormName())
		}
	}
	switch {
	case params == nil:
		return apiErr(http.StatusBadRequest, "ActionParameterMissing", multipartPushName, "UpdateParameters")
	case img == nil:
		return apiErr(http.StatusBadRequest, "ActionParameterMissing", multipartPushName, "UpdateFile")
	}
	b := simpleUpdateBody{ExcludeTargets: params.ExcludeTargets, Stage: params.Stage, LocalImage: params.LocalImage}
	if err := b.notSupported(); err != nil {
		return err
	}
	targets, err := u.s.resolveTargets(params.Targets, multipartPushName)
	if err != nil {
		return err
	}
	name := img.Name
	if name == "" {
		name = "UpdateFile"
	}
	t, err := u.s.tasks.runProgress("Firmware update "+name, r, 0, func(ctx context.Context, p *taskProgress) error {
		defer release()
		return runUpdate(ctx, p, targets, name, func(_ context.Context, t updateTarget, progress func(hardware.FirmwareProgress)) (hardware.FirmwareResult, error) {
			n := int64(len(img.Data))
			progress(hardware.FirmwareProgress{Phase: hardware.FirmwareTransferring, Component: t.component, Done: n, Total: n})
			return t.m.InstallFirmware(t.component, *img, name, progress)
		})
	})
	if err != nil {
		return err
	}
	accepted(w, t)
	return nil
}

// bodyError maps a failure to read the request body.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apiErr(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
	}
	return withCause(apiErr(http.StatusBadRequest, "UnrecognizedRequestBody"), err)
}
