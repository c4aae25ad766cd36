package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated server's firmware: the BIOS, the firmware (with option
// ROM) of its dual-port network adapter, and the NVMe SSD's firmware.
// The BIOS and the adapter activate a new image at the next host reset;
// the SSD activates at once (NVMe Firmware Commit action 3).

// FirmwareComponents implements hardware.FirmwareUpdater.
func (m *Machine) FirmwareComponents() []hardware.FirmwareComponent {
	var nics []string
	for _, n := range m.info.NICs {
		nics = append(nics, n.ID)
	}
	return []hardware.FirmwareComponent{
		{ID: "BIOS", Name: "System BIOS", Kind: hardware.FirmwareBIOS, Manufacturer: m.info.Manufacturer,
			SoftwareID: "SIM-S1-BIOS", Version: m.info.BiosVersion, ReleaseDate: biosFactoryDate,
			Updateable: true, ResetRequired: true},
		{ID: "NIC", Name: "Simulated 10GbE adapter firmware and option ROM", Kind: hardware.FirmwareNIC, Devices: nics,
			Manufacturer: m.info.Manufacturer, SoftwareID: "SIM-NIC-10G", Version: "22.31.6",
			ReleaseDate: time.Date(2025, 11, 14, 0, 0, 0, 0, time.UTC), Updateable: true, ResetRequired: true},
		{ID: "Disk0", Name: "NVMe SSD firmware", Kind: hardware.FirmwareDrive, Devices: []string{"Disk0"},
			Manufacturer: m.info.Manufacturer, SoftwareID: "SIM-NVME-960", Version: "1.0.3",
			ReleaseDate: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), Updateable: true},
	}
}

// The BIOS as shipped: build 2.4.1 of 2026-06-01.
var (
	biosFactoryVersion = "2.4.1"
	biosFactoryDate    = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// biosVersion is how the simulated BIOS shows build version of date
// released: "SIM 2.4.1 (2026-06-01)" (without a date, "SIM 2.4.1").
func biosVersion(version string, released time.Time) string {
	if released.IsZero() {
		return "SIM " + version
	}
	return fmt.Sprintf("SIM %s (%s)", version, released.UTC().Format(time.DateOnly))
}

// FormatFirmwareVersion implements hardware.FirmwareVersionFormatter: an
// updated BIOS shows its version as the factory one does, "SIM <version>
// (<release date>)"; the other components show the version alone.
func (m *Machine) FormatFirmwareVersion(component, version string, released time.Time) string {
	if strings.EqualFold(component, "BIOS") {
		return biosVersion(version, released)
	}
	return version
}

// headerMagic starts the first line of an image that says what it is:
//
//	BMCD-FW component=bios version=2.5.0 date=2026-09-14
//
// Fields are separated by blanks; any may be missing. date is the
// release date (YYYY-MM-DD).
const headerMagic = "BMCD-FW"

// imageName matches a file name such as bios-2.5.0.bin, NIC_v22.32.1.rom
// or disk0-1.0.4: the component, then the version.
var imageName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*)[-_][vV]?([0-9][0-9A-Za-z.+~_-]*?)(\.(bin|img|rom|fw|fd|cap|hpm|upd|pkg))?$`)

// IdentifyFirmware implements hardware.FirmwareUpdater: the header line,
// if the image has one, says what it is; otherwise the file name does.
func (m *Machine) IdentifyFirmware(img hardware.FirmwareImage) hardware.FirmwareIdentity {
	var id hardware.FirmwareIdentity
	if sm := imageName.FindStringSubmatch(img.Name); sm != nil {
		id.Component, id.Version = sm[1], sm[2]
	}
	line, _, _ := bytes.Cut(img.Data[:min(len(img.Data), 256)], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 || fields[0] != headerMagic {
		return id
	}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			continue
		}
		switch k {
		case "component":
			id.Component = v
		case "version":
			id.Version = v
		case "date":
			if d, err := time.Parse(time.DateOnly, v); err == nil {
				id.ReleaseDate = d
			}
		}
	}
	return id
}

// FetchFirmware implements hardware.FirmwareUpdater: it downloads the
// whole image, as a BMC does before it flashes anything, through the same
// fetcher and under the same kind of TLS policy as virtual media
// (internal/fetch), so failures are classified the same way: a URL that
// is not http or https is ErrInvalid, any other fetch failure a
// *hardware.MediaError wrapping the *fetch.Error. User information in the
// URL is sent as HTTP Basic credentials.
func (m *Machine) FetchFirmware(ctx context.Context, src hardware.ImageSource, progress func(done, total int64)) (hardware.FirmwareImage, error) {
	resp, err := m.fetch.Get(ctx, src.URL, src.TLS, nil)
	if err != nil {
		return hardware.FirmwareImage{}, hardware.MediaFetchError(src.URL, err)
	}
	defer resp.Body.Close()
	total := resp.ContentLength
	if total > hardware.MaxFirmwareImageSize {
		return hardware.FirmwareImage{}, fmt.Errorf("image %s is %d bytes: %w", hardware.RedactURL(src.URL), total, hardware.ErrFirmwareTooLarge)
	}
	var buf bytes.Buffer
	if total > 0 {
		buf.Grow(int(total))
	}
	chunk := make([]byte, 256<<10)
	lim := io.LimitReader(resp.Body, hardware.MaxFirmwareImageSize+1)
	for {
		n, rerr := lim.Read(chunk)
		buf.Write(chunk[:n])
		if n > 0 && progress != nil {
			progress(int64(buf.Len()), total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return hardware.FirmwareImage{}, &hardware.MediaError{URL: src.URL, Err: rerr}
		}
	}
	if buf.Len() > hardware.MaxFirmwareImageSize {
		return hardware.FirmwareImage{}, fmt.Errorf("image %s: %w", hardware.RedactURL(src.URL), hardware.ErrFirmwareTooLarge)
	}
	name := ""
	if u, err := url.Parse(src.URL); err == nil { // fetch.Get parsed it already
		name = path.Base(u.Path)
	}
	return hardware.FirmwareImage{Name: name, Data: buf.Bytes()}, nil
}
