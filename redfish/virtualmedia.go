package redfish

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// insertTimeout bounds fetching an image to insert.
const insertTimeout = 2 * time.Minute

// insertWait is how long InsertMedia may take before it becomes a Task:
// as long as the fetch may take, so an insert is answered when it is done
// or has failed. sushy and Ironic ignore a 202 from InsertMedia and go on
// as if the medium were in (then boot without it), as real BMCs answer
// only once the image is mounted. Clients that send "Prefer:
// respond-async" get a Task at once. It is a variable only so that tests
// can shorten it; nothing else changes it.
var insertWait = insertTimeout

// The same media slots appear under the system's manager (where Redfish
// has always had them) and under the system itself (ComputerSystem v1_13).
func (s *Service) virtualMediaRoutes() {
	for _, base := range []func(string) string{managerPath, systemPath} {
		base := base
		owner := "Manager"
		if base("") == systemPath("") {
			owner = "ComputerSystem"
		}
		pattern := base("{sys}") + "/VirtualMedia"
		s.handle(pattern, &resource{get: func(r *http.Request) (any, error) {
			m, err := s.machine(r, owner)
			if err != nil {
				return nil, err
			}
			coll := base(m.ID()) + "/VirtualMedia"
			var ids []string
			for _, md := range m.Media() {
				ids = append(ids, coll+"/"+md.ID)
			}
			return collection("VirtualMediaCollection", "Virtual Media Collection", coll, ids), nil
		}})
		s.handle(pattern+"/{slot}", &resource{
			get: func(r *http.Request) (any, error) {
				m, md, err := s.slot(r, owner)
				if err != nil {
					return nil, err
				}
				return renderMedia(base(m.ID())+"/VirtualMedia/"+md.ID, mediaCertificatesPath(m.ID(), md.ID), md), nil
			},
			patch:     func(r *http.Request) error { return s.patchMedia(r, owner) },
			patchPriv: auth.PrivConfigureManager,
		})
		s.handle(pattern+"/{slot}/Actions/VirtualMedia.InsertMedia", &resource{
			post:     func(w http.ResponseWriter, r *http.Request) error { return s.insertMedia(w, r, owner) },
			postPriv: auth.PrivConfigureManager,
		})
		s.handle(pattern+"/{slot}/Actions/VirtualMedia.EjectMedia", &resource{
			post:     func(w http.ResponseWriter, r *http.Request) error { return s.ejectMedia(w, r, owner) },
			postPriv: auth.PrivConfigureManager,
		})
		s.handle(pattern+"/{slot}/InsertMediaActionInfo", &resource{get: func(r *http.Request) (any, error) {
			m, md, err := s.slot(r, owner)
			if err != nil {
				return nil, err
			}
			v := insertActionInfo(base(m.ID())+"/VirtualMedia/"+md.ID+"/InsertMediaActionInfo", md)
			if s.cfg.StoredImages != nil {
				v["Oem"] = oem("ActionInfo", M{"StoredImages": storedImages(s.cfg.StoredImages(r))})
			}
			return v, nil
		}})
		s.handle(pattern+"/{slot}/EjectMediaActionInfo", &resource{get: func(r *http.Request) (any, error) {
			m, md, err := s.slot(r, owner)
			if err != nil {
				return nil, err
			}
			return M{
				"@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
				"@odata.id":   base(m.ID()) + "/VirtualMedia/" + md.ID + "/EjectMediaActionInfo",
				"Id":          "EjectMediaActionInfo",
				"Name":        "Eject Media Action Info",
				"Parameters":  []M{},
			}, nil
		}})
	}
	// DSP0268 defines a slot's CertificateCollection under the System's
	// VirtualMedia only; the Manager's representation of the same slot
	// links there too.
	s.certificateRoutes(mediaCertificatesPath("{sys}", "{slot}"), certificateStore{
		path: func(r *http.Request) (string, error) {
			m, md, err := s.slot(r, "ComputerSystem")
			if err != nil {
				return "", err
			}
			return mediaCertificatesPath(m.ID(), md.ID), nil
		},
		list: func(r *http.Request) ([]hardware.Certificate, error) {
			_, md, err := s.slot(r, "ComputerSystem")
			return md.Certificates, err
		},
		add: func(r *http.Request, pemText string) (hardware.Certificate, error) {
			m, md, err := s.slot(r, "ComputerSystem")
			if err != nil {
				return hardware.Certificate{}, err
			}
			return m.AddMediaCertificate(md.ID, pemText)
		},
		remove: func(r *http.Request, id string) error {
			m, md, err := s.slot(r, "ComputerSystem")
			if err != nil {
				return err
			}
			return m.DeleteMediaCertificate(md.ID, id)
		},
		purpose: func(r *http.Request) string {
			return "the https servers of virtual media " + chi.URLParam(r, "slot") + " images, when VerifyCertificate is true"
		},
		priv: auth.PrivConfigureManager,
	})
}

// mediaCertificatesPath is the URI of a slot's Certificates collection.
func mediaCertificatesPath(sys, slot string) string {
	return systemPath(sys) + "/VirtualMedia/" + slot + "/Certificates"
}

func (s *Service) slot(r *http.Request, owner string) (*hardware.Machine, hardware.Media, error) {
	m, err := s.machine(r, owner)
	if err != nil {
		return nil, hardware.Media{}, err
	}
	id := chi.URLParam(r, "slot")
	md, ok := m.MediaSlot(id)
	if !ok {
		return nil, hardware.Media{}, notFound("VirtualMedia", id)
	}
	return m, md, nil
}

// mediaWriteable are the VirtualMedia properties a PATCH sets (see
// patchMedia); Inserted true and WriteProtected need an image in the slot
// or in the same PATCH, TransferProtocolType must be the image's.
var mediaWriteable = []string{"Image", "Inserted", "WriteProtected", "TransferProtocolType", "TransferMethod", "VerifyCertificate"}

// renderMedia renders a slot: an image attached but not inserted shows
// Image, ImageName and ConnectedVia URI with Inserted false.
func renderMedia(path, certificates string, md hardware.Media) M {
	v := M{
		"@odata.type":       "#VirtualMedia.v1_6_5.VirtualMedia",
		"@odata.id":         path,
		"Id":                md.ID,
		"Name":              md.Name,
		"MediaTypes":        md.Types,
		"Inserted":          md.Inserted,
		"WriteProtected":    md.WriteProtected,
		"ConnectedVia":      "NotConnected",
		"Image":             nil,
		"ImageName":         nil,
		"TransferMethod":    "Stream",
		"VerifyCertificate": md.VerifyCertificate,
		"Certificates":      link{certificates},
		"Status":            enabledStatus(),
		writeableKey:        mediaWriteable,
		"Actions": M{
			"#VirtualMedia.InsertMedia": M{"target": path + "/Actions/VirtualMedia.InsertMedia", "@Redfish.ActionInfo": path + "/InsertMediaActionInfo"},
			"#VirtualMedia.EjectMedia":  M{"target": path + "/Actions/VirtualMedia.EjectMedia", "@Redfish.ActionInfo": path + "/EjectMediaActionInfo"},
		},
	}
	if md.Image != "" {
		v["ConnectedVia"] = "URI"
		v["Image"] = hardware.RedactURL(md.Image) // never show an image password
		v["ImageName"] = md.ImageName()
		v["TransferProtocolType"] = imageProtocol(md.Image)
	}
	return v
}

// insertActionInfo describes InsertMedia's parameters. Boolean ones list
// their values and default as strings, as ActionInfo renders every
// non-string value (DefaultValue: "converted to an RFC8259-defined JSON
// string"); Image gives the URL schemes it takes as AllowablePattern.
func insertActionInfo(path string, md hardware.Media) M {
	return M{
		"@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
		"@odata.id":   path,
		"Id":          "InsertMediaActionInfo",
		"Name":        "Insert Media Action Info",
		"Parameters": []M{
			{"Name": "Image", "Required": true, "DataType": "String", "AllowablePattern": imagePattern},
			{"Name": "Inserted", "Required": false, "DataType": "Boolean", "AllowableValues": []string{"true", "false"}, "DefaultValue": "true"},
			{"Name": "WriteProtected", "Required": false, "DataType": "Boolean", "AllowableValues": []string{"true", "false"}, "DefaultValue": "true"},
			{"Name": "MediaType", "Required": false, "DataType": "String", "AllowableValues": md.Types},
			{"Name": "TransferProtocolType", "Required": false, "DataType": "String", "AllowableValues": []string{"HTTP", "HTTPS"}},
			{"Name": "TransferMethod", "Required": false, "DataType": "String", "AllowableValues": []string{"Stream"}},
		},
	}
}

// StoredImage is an image of bmcd's image store, as the InsertMedia
// ActionInfo lists it (Oem.bmcd.StoredImages, csdl/bmcd_v1.xml).
type StoredImage struct {
	Name string
	// URL is what InsertMedia's Image takes to insert it.
	URL string
	// ISO9660 tells a CD or DVD image (MediaType CD) from a disk image
	// (USBStick).
	ISO9660 bool
	Size    int64 // bytes
	SHA256  string
}

// storedImages renders the store's images as bmcd.v1_0_0.StoredImage
// objects, MediaType being the VirtualMedia.MediaType InsertMedia takes.
func storedImages(imgs []StoredImage) []M {
	out := make([]M, 0, len(imgs))
	for _, img := range imgs {
		mt := "USBStick"
		if img.ISO9660 {
			mt = "CD"
		}
		out = append(out, M{"Name": img.Name, "Image": img.URL, "MediaType": mt, "SizeBytes": img.Size, "SHA256": img.SHA256})
	}
	return out
}

// imagePattern is the AllowablePattern of an image URL: http or https
// (the scheme in any case) with a host.
const imagePattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+"

type insertBody struct {
	Image                *string `json:"Image" validate:"required"`
	Inserted             *bool   `json:"Inserted"`
	WriteProtected       *bool   `json:"WriteProtected"`
	MediaType            *string `json:"MediaType" validate:"omitempty,oneof=CD Floppy USBStick DVD"`
	TransferProtocolType *string `json:"TransferProtocolType" validate:"omitempty,oneof=CIFS FTP SFTP HTTP HTTPS NFS SCP TFTP OEM"`
	TransferMethod       *string `json:"TransferMethod" validate:"omitempty,oneof=Stream Upload"`
	UserName             *string `json:"UserName"`
	Password             *string `json:"Password"`
}

// check applies what the slot and the backend accept, beyond the schema.
func (b *insertBody) check(md hardware.Media, action string) error {
	img := *b.Image
	u, err := url.Parse(img)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", img, "Image", action)
	}
	if p := b.TransferProtocolType; p != nil && (*p == "HTTP" || *p == "HTTPS") && !strings.EqualFold(*p, u.Scheme) {
		return apiErr(http.StatusBadRequest, "ActionParameterValueConflict", "TransferProtocolType", *p)
	}
	return b.checkParams(md, action)
}

// checkParams applies what the slot and the backend accept of the
// parameters that qualify an image, with or without one.
func (b *insertBody) checkParams(md hardware.Media, action string) error {
	if p := b.TransferProtocolType; p != nil && *p != "HTTP" && *p != "HTTPS" {
		return apiErr(http.StatusBadRequest, "ActionParameterValueNotInList", *p, "TransferProtocolType", action)
	}
	if b.TransferMethod != nil && *b.TransferMethod != "Stream" {
		return apiErr(http.StatusBadRequest, "ActionParameterValueNotInList", *b.TransferMethod, "TransferMethod", action)
	}
	if b.MediaType != nil {
		ok := false
		for _, t := range md.Types {
			ok = ok || string(t) == *b.MediaType
		}
		if !ok {
			return apiErr(http.StatusBadRequest, "ActionParameterValueNotInList", *b.MediaType, "MediaType", action)
		}
	}
	if (b.UserName != nil && *b.UserName != "") || (b.Password != nil && *b.Password != "") {
		return apiErr(http.StatusBadRequest, "ActionParameterNotSupported", "UserName", action)
	}
	return nil
}

// mediaError maps a failed image fetch to the Base message that says
// why (fetchError); the backend's own text is the cause, logged and not
// sent. Other machine errors pass through.
func mediaError(err error, image, action string) error {
	var me *hardware.MediaError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		return fetchError(me, hardware.RedactURL(me.URL))
	case errors.Is(err, hardware.ErrInvalid):
		// The backend cannot use the URL (the syntax checks passed).
		return withCause(apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", hardware.RedactURL(image), "Image", action), err)
	case errors.Is(err, hardware.ErrNotSupported):
		return withCause(apiErr(http.StatusBadRequest, "ActionNotSupported", action), err)
	}
	return err
}

// insertAction is the InsertMedia action's name in messages.
const insertAction = "VirtualMedia.InsertMedia"

func (s *Service) insertMedia(w http.ResponseWriter, r *http.Request, owner string) error {
	m, md, err := s.slot(r, owner)
	if err != nil {
		return err
	}
	const action = insertAction
	var b insertBody
	if _, err := decodeBody(r, &b, bodyKind{action: action}); err != nil {
		return err
	}
	if err := b.check(md, action); err != nil {
		return err
	}
	return s.startInsert(w, r, m, md.ID, *b.Image, b.options())
}

// options are the InsertMedia options the body asks for, with the
// schema's defaults: Inserted and WriteProtected true.
func (b *insertBody) options() hardware.InsertOptions {
	o := hardware.InsertOptions{Inserted: true, WriteProtected: true}
	if b.Inserted != nil {
		o.Inserted = *b.Inserted
	}
	if b.WriteProtected != nil {
		o.WriteProtected = *b.WriteProtected
	}
	return o
}

// startInsert inserts media, answering 204 when done within insertWait and
// 202 with a Task otherwise.
func (s *Service) startInsert(w http.ResponseWriter, r *http.Request, m *hardware.Machine, slot, image string, o hardware.InsertOptions) error {
	wait := insertWait
	if strings.Contains(r.Header.Get("Prefer"), "respond-async") {
		wait = 0
	}
	t, err := s.tasks.run("Insert media "+hardware.RedactURL(image), r, wait, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, insertTimeout)
		defer cancel()
		err := mediaError(m.InsertMedia(ctx, slot, image, o), image, insertAction)
		var ae *apiError
		if errors.As(err, &ae) && ae.cause != nil {
			// A task's error reaches the client through the task monitor;
			// its cause only here.
			s.log.Info("insert media failed", "system", m.ID(), "slot", slot, "cause", ae.cause)
		}
		return err
	})
	if err != nil {
		return err
	}
	if t != nil {
		accepted(w, t)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) ejectMedia(w http.ResponseWriter, r *http.Request, owner string) error {
	m, md, err := s.slot(r, owner)
	if err != nil {
		return err
	}
	if _, err := decodeBody(r, &struct{}{}, bodyKind{action: "VirtualMedia.EjectMedia"}); err != nil {
		return err
	}
	if err := m.EjectMedia(r.Context(), md.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type mediaPatch struct {
	Image                *string `json:"Image" nullable:"true"` // null ejects
	Inserted             *bool   `json:"Inserted"`
	WriteProtected       *bool   `json:"WriteProtected"`
	TransferProtocolType *string `json:"TransferProtocolType" validate:"omitempty,oneof=CIFS FTP SFTP HTTP HTTPS NFS SCP TFTP OEM"`
	TransferMethod       *string `json:"TransferMethod" validate:"omitempty,oneof=Stream Upload"`
	UserName             *string `json:"UserName"`
	Password             *string `json:"Password"`
	VerifyCertificate    *bool   `json:"VerifyCertificate"`
}

var mediaReadOnly = map[string]bool{"Id": true, "Name": true, "MediaTypes": true, "ConnectedVia": true,
	"ImageName": true, "Status": true, "Actions": true, "Certificates": true}

// patchMedia sets VerifyCertificate (persisted; it applies from the next
// insert on) and the slot's image, the older way to mount one:
//   - Image (a URL) replaces what the slot holds: the old image is ejected
//     and the new one attached, inserted unless Inserted is false,
//     write-protected unless WriteProtected is false;
//   - Image null or "" ejects;
//   - without Image, Inserted true inserts the image the slot holds
//     (checked again), Inserted false takes the medium away from the host
//     and keeps the image attached, and WriteProtected sets the held
//     image's write protection.
//
// Inserted true or WriteProtected with no image left in the slot, and a
// TransferProtocolType that is not the image's, are PropertyValueConflict
// with Image. A new VerifyCertificate applies to an image in the same
// PATCH, and is undone if that image fails.
func (s *Service) patchMedia(r *http.Request, owner string) (err error) {
	m, md, err := s.slot(r, owner)
	if err != nil {
		return err
	}
	var p mediaPatch
	top, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return mediaReadOnly[n] }})
	if err != nil {
		return err
	}
	eject := string(top["Image"]) == "null" || (p.Image != nil && *p.Image == "")
	replace := !eject && p.Image != nil
	// Check the whole body (the new image too) before ejecting the old
	// one: a rejected PATCH changes nothing.
	b := insertBody{Image: p.Image, Inserted: p.Inserted, WriteProtected: p.WriteProtected, TransferProtocolType: p.TransferProtocolType,
		TransferMethod: p.TransferMethod, UserName: p.UserName, Password: p.Password}
	check := b.checkParams
	if replace {
		check = b.check
	}
	if err := check(md, "PATCH"); err != nil {
		return asPropertyError(err)
	}
	if !replace {
		held := md.Image
		if eject {
			held = ""
		}
		if err := checkHeld(held, p); err != nil {
			return err
		}
	}
	if v := p.VerifyCertificate; v != nil && *v != md.VerifyCertificate {
		if err := m.SetMediaVerifyCertificate(md.ID, *v); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				_ = m.SetMediaVerifyCertificate(md.ID, md.VerifyCertificate)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(r.Context(), insertTimeout)
	defer cancel()
	switch {
	case eject:
		return m.EjectMedia(ctx, md.ID)
	case replace:
		if err := m.EjectMedia(ctx, md.ID); err != nil {
			return err
		}
		return asPropertyError(mediaError(m.InsertMedia(ctx, md.ID, *p.Image, b.options()), *p.Image, "PATCH"))
	}
	return asPropertyError(mediaError(m.ChangeMedia(ctx, md.ID, hardware.MediaChange{Inserted: p.Inserted, WriteProtected: p.WriteProtected}), md.Image, "PATCH"))
}

// checkHeld checks a PATCH without a new image against the image the slot
// will hold ("" for none): Inserted true and WriteProtected need one, and
// TransferProtocolType must be its protocol.
func checkHeld(held string, p mediaPatch) error {
	conflict := func(prop string) error {
		return apiErr(http.StatusBadRequest, "PropertyValueConflict", prop, "Image")
	}
	switch {
	case held == "" && p.Inserted != nil && *p.Inserted:
		return conflict("Inserted")
	case held == "" && p.WriteProtected != nil:
		return conflict("WriteProtected")
	case p.TransferProtocolType != nil && !strings.EqualFold(*p.TransferProtocolType, imageProtocol(held)):
		return conflict("TransferProtocolType")
	}
	return nil
}

// imageProtocol is the TransferProtocolType of an image URL; "" for none.
func imageProtocol(image string) string {
	switch {
	case image == "":
		return ""
	case strings.HasPrefix(strings.ToLower(image), "https:"):
		return "HTTPS"
	}
	return "HTTP"
}

// asPropertyError restates an InsertMedia parameter error for a PATCH,
// whose errors name properties (the Base registry's Property* messages),
// not parameters of an action.
func asPropertyError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || len(ae.msgs) == 0 {
		return err
	}
	a := ae.msgs[0].MessageArgs
	var out *apiError
	switch strings.TrimPrefix(ae.msgs[0].MessageID, baseMessagePrefix) {
	case "ActionParameterValueFormatError":
		out = apiErr(ae.status, "PropertyValueFormatError", a[0], pointer(a[1]))
	case "ActionParameterValueNotInList":
		out = apiErr(ae.status, "PropertyValueNotInList", a[0], pointer(a[1]))
	case "ActionParameterValueConflict":
		// PropertyValueConflict takes property names, not JSON pointers.
		out = apiErr(ae.status, "PropertyValueConflict", a[0], "Image")
	case "ActionParameterNotSupported":
		out = apiErr(ae.status, "PropertyNotWritable", pointer(a[0]))
	case "ActionNotSupported":
		out = apiErr(ae.status, "PropertyNotWritable", "/Image")
	default:
		return err
	}
	return withCause(out, ae.cause)
}
