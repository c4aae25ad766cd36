package conformance

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/schemacheck"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

// This file turns the semantic rules of the DMTF Redfish Service Validator
// (redfish_service_validator/validate.py: validate_object, validate_value,
// validate_action; system_under_test.py: find_uris) into a test of bmcd's
// whole tree. JSON Schema validation of every document (schema_test.go)
// already covers types, enumerations, patterns, required properties and
// unknown properties; what is checked here is what the validator reads
// from the schemas beyond that, and a few cross-document rules:
//
//   - resource: every linked document answers 200 with a JSON object
//     (so every @Redfish.ActionInfo resolves);
//   - schema: every @odata.type names a definition of the schema directory;
//   - uri: @odata.id is the URI the document was fetched from, matches one
//     of the URIs the schema allows, and has no trailing slash;
//     deprecated-uri: it is not one the schema deprecates;
//   - id: Id is the last URI segment when the URI ends in an {Id};
//   - allow: the Allow header lists POST, PATCH/PUT, DELETE only where the
//     schema says the resource is insertable, updatable, deletable;
//   - deprecated-property, deprecated-value: no deprecated property and no
//     deprecated enumeration value;
//   - empty-string: no read-only string property holds "" ("services
//     should omit properties that are not supported");
//   - write-only: write-only properties (Password) are null;
//   - member-id: the MemberId of an array member is its index, and its
//     @odata.id is <resource>#<JSON pointer>;
//   - link: a reference holds only @odata.id, and the resource it names
//     exists and is of the type the schema gives the property;
//   - action: an action's target is <resource>/Actions/<name>, it holds
//     only target, title and annotations, it is not deprecated, and its
//     target answers POST (neither 404 nor 405);
//   - durable-name: DurableName follows the pattern of its DurableNameFormat;
//   - copyright: @Redfish.Copyright only in message registries;
//   - count: Members@odata.count equals the number of Members, and stays
//     the total on every page of the collection read with $skip and $top;
//   - Oem objects have an @odata.type that a CSDL schema $metadata
//     references defines (checkOem, shared with schema_test.go).
//
// The validator's other checks need no test of their own here: bmcd serves
// the newest version of every schema (the schema directory holds only
// those, see schemacheck.TestSchemasDirIsComplete), so no property, value
// or action can be newer than its resource's version; an action of another
// schema, like an unknown property, fails JSON Schema validation; excerpt-only
// properties exist only in the excerpt definitions, so JSON Schema
// validation rejects them elsewhere; required properties, types, nulls,
// patterns, ranges and enumerations are JSON Schema's.

// allowed is one finding bmcd accepts on purpose, with why.
type allowed struct {
	Rule    string // the finding's rule
	Type    string // resource type name, e.g. "ComputerSystem"
	Pointer string // path.Match pattern of the property's JSON pointer
	Reason  string
	// Pending marks an entry for work under way elsewhere (another branch
	// removes the finding): it may match nothing.
	Pending bool
}

// serviceRuleExceptions is the documented allow-list: the deprecated
// properties and URIs bmcd keeps because clients it serves need them.
var serviceRuleExceptions = []allowed{
	{Rule: "deprecated-property", Type: "ComputerSystem", Pointer: "/IndicatorLED",
		Reason: "the OpenStack Ironic profile lists IndicatorLED (Lit/Off/Blinking); sushy 4.3.3 reads and sets it"},
	{Rule: "deprecated-property", Type: "Chassis", Pointer: "/IndicatorLED",
		Reason: "sushy 4.3.3's Chassis reads IndicatorLED (LocationIndicatorActive is served too)"},
	{Rule: "deprecated-property", Type: "Chassis", Pointer: "/Power",
		Reason: "the Ironic profile's Chassis lists Power; sushy 4.3.3 reads power sensors only there"},
	{Rule: "deprecated-property", Type: "Chassis", Pointer: "/Thermal",
		Reason: "the Ironic profile's Chassis lists Thermal; sushy 4.3.3 reads thermal sensors only there"},
	{Rule: "deprecated-uri", Type: "Power", Pointer: "/@odata.id",
		Reason: "Power's only URI is deprecated with the schema; kept for the Ironic profile and sushy 4.3.3"},
	{Rule: "deprecated-uri", Type: "Thermal", Pointer: "/@odata.id",
		Reason: "Thermal's only URI is deprecated with the schema; kept for the Ironic profile and sushy 4.3.3"},
	{Rule: "deprecated-property", Type: "Manager", Pointer: "/VirtualMedia",
		Reason: "sushy 4.3.3 (and Ironic releases built on it) find virtual media only under the Manager"},
	{Rule: "deprecated-uri", Type: "VirtualMediaCollection", Pointer: "/@odata.id",
		Reason: "/redfish/v1/Managers/{id}/VirtualMedia: see Manager /VirtualMedia"},
	{Rule: "deprecated-uri", Type: "VirtualMedia", Pointer: "/@odata.id",
		Reason: "/redfish/v1/Managers/{id}/VirtualMedia/{slot}: see Manager /VirtualMedia"},
	{Rule: "deprecated-property", Type: "Storage", Pointer: "/StorageControllers",
		Reason: "sushy 4.3.3's Storage reads only the inline StorageControllers (Controllers is served too)"},
	{Rule: "deprecated-property", Type: "MessageRegistry", Pointer: "/Messages/*/Severity",
		Reason: "DMTF's published registries carry Severity beside MessageSeverity, and sushy 4.3.3's MessageRegistry requires it"},
}

// finding is one rule a document breaks.
type finding struct {
	Rule, Path, Type, Pointer, Detail string
}

func (f finding) String() string {
	return fmt.Sprintf("%s: %s %s (%s): %s", f.Rule, f.Path, f.Pointer, f.Type, f.Detail)
}

// TestServiceValidatorRules crawls a populated bmcd the way the DMTF
// Service Validator does and checks every document against the rules
// listed at the top of this file; findings on the allow-list pass, and an
// allow-list entry that matches nothing fails (unless it is pending).
func TestServiceValidatorRules(t *testing.T) {
	t.Parallel()
	model, err := schemacheck.LoadModel(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	b := startBMC(t, bmcOpts{Systems: 2, IPMI: true})
	populateTree(t, b)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pages, err := schemacheck.Crawl(ctx, b.client, b.URL, func(r *http.Request) { r.SetBasicAuth(b.User, b.Password) })
	if err != nil {
		t.Fatalf("crawl: %v", err)
	}
	byPath := map[string]*schemacheck.Page{}
	for i := range pages {
		byPath[pages[i].Path] = &pages[i]
	}
	fetch := func(p string) *schemacheck.Page {
		if pg, ok := byPath[p]; ok {
			return pg
		}
		pg := &schemacheck.Page{Path: p}
		r, err := b.Do(request{Method: http.MethodGet, Path: p})
		if err != nil {
			pg.Err = err
		} else {
			pg.Status = r.Status
			if r.Status == http.StatusOK {
				pg.Doc = r.JSON(t)
			}
		}
		byPath[p] = pg
		return pg
	}

	var found []finding
	var targets []string
	types := map[string]int{}
	for _, pg := range pages {
		fs, ts := serviceRules(model, pg, fetch)
		found = append(found, fs...)
		targets = append(targets, ts...)
		if typ, ok := pg.Doc["@odata.type"].(string); ok {
			types[typeName(typ)]++
		}
	}
	found = append(found, collectionCounts(t, b, pages)...)
	// Last, as these POSTs may change the tree: every action target must
	// be routed. A malformed body makes most of them answer 400.
	slices.Sort(targets)
	targets = slices.Compact(targets)
	for _, target := range targets {
		r, err := b.Do(request{Method: http.MethodPost, Path: target, Body: "{"})
		switch {
		case err != nil:
			found = append(found, finding{"action", target, "", "", err.Error()})
		case r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed || r.Status >= 500:
			found = append(found, finding{"action", target, "", "", fmt.Sprintf("POST answers %d: %s", r.Status, r.Body)})
		}
	}
	checkFindings(t, found, serviceRuleExceptions)

	oemTypes := localOemTypes(t, b)
	for _, pg := range pages {
		if pg.Doc != nil {
			checkOem(t, pg.Path, pg.Doc, oemTypes)
		}
	}
	// The branches populateTree fills must really have been checked.
	for _, want := range []string{"ComputerSystem", "Chassis", "Power", "Thermal", "Manager", "VirtualMedia", "Session",
		"ManagerAccount", "Bios", "MessageRegistry", "AttributeRegistry", "LogEntry", "Task", "EventDestination",
		"ActionInfo", "Storage", "Drive", "SoftwareInventory", "Certificate"} {
		if types[want] == 0 {
			t.Errorf("the crawl met no %s", want)
		}
	}
	t.Logf("checked %d documents and %d action targets", len(pages), len(targets))
}

// checkFindings fails the test for every finding not on the allow-list and
// for every allow-list entry (not pending) that matched nothing.
func checkFindings(t *testing.T, found []finding, allow []allowed) {
	t.Helper()
	used := make([]bool, len(allow))
	var bad []string
	for _, f := range found {
		ok := false
		for i, a := range allow {
			if m, _ := path.Match(a.Pointer, f.Pointer); m && a.Rule == f.Rule && a.Type == f.Type {
				used[i], ok = true, true
			}
		}
		if !ok {
			bad = append(bad, f.String())
		}
	}
	sort.Strings(bad)
	bad = slices.Compact(bad)
	if len(bad) > 0 {
		t.Errorf("%d finding(s) of the DMTF Service Validator's rules:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	for i, a := range allow {
		switch {
		case used[i]:
		case a.Pending:
			t.Logf("pending allow-list entry matched nothing (its work has landed? drop it): %+v", a)
		default:
			t.Errorf("allow-list entry matches nothing; drop it: %+v", a)
		}
	}
}

// populateTree fills the optional branches of the tree: a powered-on
// system with a boot override, inserted virtual media, a Task, a session,
// an extra account, pending BIOS settings, log entries, trusted
// certificates, an event subscription and a staged firmware image.
func populateTree(t *testing.T, b *bmc) {
	t.Helper()
	img := serveImage(t)
	post := func(path string, body any) request { return request{Method: http.MethodPost, Path: path, Body: body} }
	patch := func(path string, body any) request { return request{Method: http.MethodPatch, Path: path, Body: body} }
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/0",
		map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}}))
	// Settings staged before the power-on take effect at its boot, so the
	// Bios shows when and how (@Redfish.Settings Time and Messages).
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/0/Bios/Settings",
		map[string]any{"Attributes": map[string]any{"ProcVirtualization": "Disabled"}}))
	b.Must(t, http.StatusNoContent, post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", map[string]any{"ResetType": "On"}))
	b.Must(t, http.StatusNoContent, post("/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": img.URL, "Inserted": true, "WriteProtected": true}))
	fw := serveFirmware(t)
	update := b.Must(t, http.StatusAccepted, post("/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
		map[string]any{"ImageURI": fw.URL + "/firmware/bios-2.5.0.bin", "Targets": []string{"/redfish/v1/Systems/1"}}))
	eventually(t, 10*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: http.MethodGet, Path: update.Header.Get("Location")})
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusNoContent, fmt.Sprintf("update task monitor answers %d", r.Status)
	})
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/SessionService/Sessions",
		Body: map[string]any{"UserName": b.User, "Password": b.Password}, NoAuth: true})
	b.Must(t, http.StatusCreated, post("/redfish/v1/Systems/0/VirtualMedia/CD/Certificates",
		map[string]any{"CertificateString": fetchtest.NewCA(t, "Rules walk CA").PEM, "CertificateType": "PEM"}))
	b.Must(t, http.StatusCreated, post("/redfish/v1/AccountService/Accounts",
		map[string]any{"UserName": "operator1", "Password": "Operator-pw1", "RoleId": "Operator"}))
	b.Must(t, http.StatusNoContent, patch("/redfish/v1/Systems/1/Bios/Settings",
		map[string]any{"Attributes": map[string]any{"ProcTurboMode": "Disabled"}}))
	// A RAID1 volume of the two HDDs, as Ironic's RAID interface makes one.
	b.Must(t, http.StatusCreated, post("/redfish/v1/Systems/1/Storage/1/Volumes", map[string]any{
		"RAIDType": "RAID1", "DisplayName": "os", "Links": map[string]any{"Drives": []map[string]string{
			{"@odata.id": "/redfish/v1/Chassis/1/Drives/Disk1"}, {"@odata.id": "/redfish/v1/Chassis/1/Drives/Disk2"}}}}))
	sink := newEventSink(t)
	b.Must(t, http.StatusCreated, post("/redfish/v1/EventService/Subscriptions", map[string]any{
		"Destination": sink.URL, "Protocol": "Redfish", "Context": "rules walk"}))
	b.WaitPower(t, "0", "On")
}

// serviceRules checks one crawled document; it returns its findings and
// the targets of its actions.
func serviceRules(m *schemacheck.Model, pg schemacheck.Page, fetch func(string) *schemacheck.Page) ([]finding, []string) {
	var out []finding
	add := func(rule, typ, ptr, format string, args ...any) {
		out = append(out, finding{rule, pg.Path, typ, ptr, fmt.Sprintf(format, args...)})
	}
	if pg.Err != nil || pg.Doc == nil {
		add("resource", "", "", "%v", pg.Err)
		return out, nil
	}
	doc := pg.Doc
	odataType, _ := doc["@odata.type"].(string)
	info, err := m.Resource(odataType)
	if err != nil {
		add("schema", "", "/@odata.type", "%v", err)
		return out, nil
	}
	typ := info.Name
	paged := strings.Contains(pg.Path, "?")

	// @odata.id, Id and the URIs the schema allows.
	id, _ := doc["@odata.id"].(string)
	isRegistry := typ == "MessageRegistry" || typ == "AttributeRegistry" || typ == "PrivilegeRegistry"
	switch {
	case id == "" && isRegistry:
		// DMTF's registry files carry no @odata.id; the validator does not
		// require one either.
	case !paged && strings.TrimSuffix(id, "/") != pg.Path:
		add("uri", typ, "/@odata.id", "%q, fetched from %s", id, pg.Path)
	case len(info.URIs) > 0 && !paged && !pg.FromAnnotation:
		tpl := schemacheck.MatchURI(info.URIs, id)
		switch {
		case tpl == "":
			add("uri", typ, "/@odata.id", "%s is none of the URIs %s allows: %v", id, typ, info.URIs)
		case slices.Contains(info.DeprecatedURIs, tpl):
			add("deprecated-uri", typ, "/@odata.id", "%s matches the deprecated %s", id, tpl)
		}
		if strings.HasSuffix(tpl, "}") {
			if v, ok := doc["Id"].(string); ok && v != id[strings.LastIndexByte(id, '/')+1:] {
				add("id", typ, "/Id", "Id %q is not the last segment of %s", v, id)
			}
		}
	}
	if strings.HasSuffix(id, "/") && id != "/redfish/v1/" {
		add("uri", typ, "/@odata.id", "%s has a trailing slash", id)
	}

	// The Allow header against the schema's capabilities.
	if allow := pg.Header.Get("Allow"); allow != "" {
		caps := map[string]bool{"POST": info.Insertable, "PATCH": info.Updatable, "PUT": info.Updatable, "DELETE": info.Deletable}
		_, hasOem := doc["Oem"]
		for _, meth := range strings.Split(allow, ",") {
			meth = strings.ToUpper(strings.TrimSpace(meth))
			if ok, known := caps[meth]; known && !ok && !((meth == "PATCH" || meth == "PUT") && hasOem) {
				add("allow", typ, "/[Allow]", "Allow %q lists %s, which the %s schema does not allow", allow, meth, typ)
			}
		}
	}
	if _, ok := doc["@Redfish.Copyright"]; ok && typ != "MessageRegistry" {
		add("copyright", typ, "/@Redfish.Copyright", "only message registries may carry it")
	}

	var targets []string
	err = m.Props(doc, func(p schemacheck.Prop) {
		if p.Index < 0 {
			if why, ok := p.Deprecated(); ok {
				add("deprecated-property", typ, genericPointer(typ, p.Pointer), "%s", why)
			}
		}
		if why, ok := p.ValueDeprecated(); ok {
			add("deprecated-value", typ, p.Pointer, "%v: %s", p.Value, why)
		}
		if s, ok := p.Value.(string); ok && s == "" && p.ReadOnly() {
			add("empty-string", typ, p.Pointer, "read-only %s is empty: omit what is not supported", p.Name)
		}
		if p.WriteOnly() && p.Value != nil {
			add("write-only", typ, p.Pointer, "write-only %s is not null", p.Name)
		}
		switch p.Name {
		case "MemberId":
			parent := p.Pointer[:strings.LastIndexByte(p.Pointer, '/')]
			if want := parent[strings.LastIndexByte(parent, '/')+1:]; p.Value != want {
				add("member-id", typ, p.Pointer, "MemberId %v, want its index %s", p.Value, want)
			}
		case "@odata.id":
			if _, ok := p.Parent["MemberId"]; ok {
				parent := p.Pointer[:strings.LastIndexByte(p.Pointer, '/')]
				if want := id + "#" + parent; p.Value != want {
					add("member-id", typ, p.Pointer, "@odata.id %v, want the JSON pointer %s", p.Value, want)
				}
			}
		case "DurableName":
			if re := durableNamePatterns[fmt.Sprint(p.Parent["DurableNameFormat"])]; re != nil && !re.MatchString(fmt.Sprint(p.Value)) {
				add("durable-name", typ, p.Pointer, "%v does not follow %s", p.Value, re)
			}
		}
		if p.Link != "" {
			out = append(out, linkRules(pg.Path, typ, p, fetch)...)
		}
		if p.Action != nil {
			target, ts := actionRules(pg.Path, id, info, p)
			for _, f := range ts {
				out = append(out, f)
			}
			if target != "" {
				targets = append(targets, target)
			}
		}
	})
	if err != nil {
		add("schema", typ, "", "%v", err)
	}
	return out, targets
}

// genericPointer replaces the keys of dynamic maps (a message registry's
// Messages) by *, so that one allow-list entry covers them.
func genericPointer(typ, ptr string) string {
	if typ == "MessageRegistry" && strings.HasPrefix(ptr, "/Messages/") {
		parts := strings.Split(ptr, "/")
		if len(parts) > 2 {
			parts[2] = "*"
		}
		return strings.Join(parts, "/")
	}
	return ptr
}

// durableNamePatterns are the patterns the Service Validator applies to
// DurableName per DurableNameFormat.
var durableNamePatterns = map[string]*regexp.Regexp{
	"NAA":        regexp.MustCompile(`^(([0-9A-Fa-f]{2}){8}){1,2}$`),
	"FC_WWN":     regexp.MustCompile(`^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$`),
	"UUID":       regexp.MustCompile(`([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})`),
	"EUI":        regexp.MustCompile(`^([0-9A-Fa-f]{2}[:-]){7}([0-9A-Fa-f]{2})$`),
	"NGUID":      regexp.MustCompile(`^([0-9A-Fa-f]{2}){16}$`),
	"MACAddress": regexp.MustCompile(`^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$`),
}

// anyResource are the abstract types a link may point to whatever its
// target's type.
var anyResource = map[string]bool{"Resource.Item": true, "Resource.Resource": true, "Resource.ReferenceableMember": true, "Resource.ResourceCollection": true}

// linkRules checks one navigation property: a reference holds only
// @odata.id, and what it names exists and has the type the schema gives.
func linkRules(page, typ string, p schemacheck.Prop, fetch func(string) *schemacheck.Page) []finding {
	obj, ok := p.Value.(map[string]any)
	if !ok {
		return nil
	}
	var out []finding
	add := func(format string, args ...any) {
		out = append(out, finding{"link", page, typ, p.Pointer, fmt.Sprintf(format, args...)})
	}
	ref, ok := obj["@odata.id"].(string)
	if !ok {
		if _, typed := obj["@odata.type"]; !typed && !p.InExcerpt {
			add("a reference without @odata.id")
		}
		return out
	}
	_, excerpt := p.Schema["excerptCopy"]
	if _, expanded := obj["@odata.type"]; len(obj) != 1 && !excerpt && !expanded {
		add("a reference with properties besides @odata.id: %v", obj)
	}
	if !strings.HasPrefix(ref, "/") || strings.Contains(ref, "#") {
		return out
	}
	target := fetch(ref)
	if target.Doc == nil {
		if p.Name == "OriginOfCondition" && target.Status == http.StatusNotFound {
			return out // the validator allows a vanished origin
		}
		add("%s: %v", ref, target.Err)
		return out
	}
	if anyResource[p.Link] {
		return out
	}
	got, _ := target.Doc["@odata.type"].(string)
	ns, rest, _ := strings.Cut(strings.TrimPrefix(got, "#"), ".")
	if want := ns + "." + rest[strings.LastIndexByte(rest, '.')+1:]; want != p.Link {
		add("%s is a %s, the schema wants a %s", ref, got, p.Link)
	}
	return out
}

// actionRules checks one action object; it returns the action's target.
func actionRules(page, id string, info schemacheck.ResourceInfo, p schemacheck.Prop) (string, []finding) {
	var out []finding
	typ := info.Name
	add := func(format string, args ...any) {
		out = append(out, finding{"action", page, typ, p.Pointer, fmt.Sprintf(format, args...)})
	}
	obj, ok := p.Value.(map[string]any)
	if !ok {
		add("not an object")
		return "", out
	}
	name := strings.TrimPrefix(p.Name, "#")
	oemAction := strings.Contains(p.Pointer, "/Oem/")
	if why, ok := p.Action["deprecated"].(string); ok {
		add("action %s is deprecated: %s", name, why)
	}
	for k := range obj {
		if k != "target" && k != "title" && !strings.Contains(k, "@Redfish.") {
			add("%s is not allowed in an action object", k)
		}
	}
	target, _ := obj["target"].(string)
	switch {
	case target == "":
		add("no target")
	case !oemAction && strings.HasPrefix(p.Pointer, "/Actions/") && target != id+"/Actions/"+name:
		add("target %s, want %s", target, id+"/Actions/"+name)
	}
	return target, out
}

// collectionCounts checks Members@odata.count of every collection: it is
// the number of Members, and it stays the total when the collection is read
// one member per page ($skip=i&$top=1), each page holding its one member.
func collectionCounts(t *testing.T, b *bmc, pages []schemacheck.Page) []finding {
	t.Helper()
	var out []finding
	for _, pg := range pages {
		members, ok := pg.Doc["Members"].([]any)
		if !ok || strings.Contains(pg.Path, "?") {
			continue
		}
		typ := typeName(fmt.Sprint(pg.Doc["@odata.type"]))
		add := func(format string, args ...any) {
			out = append(out, finding{"count", pg.Path, typ, "/Members@odata.count", fmt.Sprintf(format, args...)})
		}
		count, ok := pg.Doc["Members@odata.count"].(float64)
		if !ok {
			add("missing")
			continue
		}
		if _, more := pg.Doc["Members@odata.nextLink"]; !more && int(count) != len(members) {
			add("%v, but %d Members", count, len(members))
		}
		var paged []string
		for i := range int(count) {
			p := fmt.Sprintf("%s?$skip=%d&$top=1", pg.Path, i)
			r, err := b.Do(request{Method: http.MethodGet, Path: p})
			if err != nil || r.Status != http.StatusOK {
				add("GET %s: %v %+v", p, err, r)
				break
			}
			d := r.JSON(t)
			if c, _ := d["Members@odata.count"].(float64); c != count {
				add("%s says %v, the collection %v", p, d["Members@odata.count"], count)
			}
			ms, _ := d["Members"].([]any)
			for _, m := range ms {
				paged = append(paged, fmt.Sprint(m.(map[string]any)["@odata.id"]))
			}
		}
		var listed []string
		for _, m := range members {
			listed = append(listed, fmt.Sprint(m.(map[string]any)["@odata.id"]))
		}
		if _, more := pg.Doc["Members@odata.nextLink"]; !more && !slices.Equal(paged, listed) {
			add("the pages of %s?$skip=i&$top=1 hold %v, the collection %v", pg.Path, paged, listed)
		}
	}
	return out
}

// TestServiceRulesDetect feeds serviceRules documents that break each rule,
// so that a rule that can no longer fire does not pass unnoticed.
func TestServiceRulesDetect(t *testing.T) {
	t.Parallel()
	model, err := schemacheck.LoadModel(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	const sysType = "#ComputerSystem.v1_27_0.ComputerSystem"
	sys := func(extra map[string]any) map[string]any {
		d := map[string]any{"@odata.type": sysType, "@odata.id": "/redfish/v1/Systems/0", "Id": "0", "Name": "S"}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	linked := map[string]map[string]any{
		"/redfish/v1/Systems/1": {"@odata.type": sysType, "@odata.id": "/redfish/v1/Systems/1", "Id": "1", "Name": "S"},
	}
	fetch := func(p string) *schemacheck.Page {
		if d, ok := linked[p]; ok {
			return &schemacheck.Page{Path: p, Status: 200, Doc: d}
		}
		return &schemacheck.Page{Path: p, Status: 404, Err: fmt.Errorf("GET %s: 404", p)}
	}
	ref := func(p string) map[string]any { return map[string]any{"@odata.id": p} }
	cases := []struct {
		name        string
		page        schemacheck.Page
		rule, ptr   string
		wantTargets int
	}{
		{"not 200", schemacheck.Page{Path: "/redfish/v1/X", Status: 500, Err: fmt.Errorf("500")}, "resource", "", 0},
		{"no schema", schemacheck.Page{Path: "/redfish/v1/X", Doc: map[string]any{"@odata.type": "#Nope.v1_0_0.Nope"}}, "schema", "/@odata.type", 0},
		{"@odata.id is not where it was fetched", schemacheck.Page{Path: "/redfish/v1/Systems/9", Doc: sys(nil)}, "uri", "/@odata.id", 0},
		{"URI the schema does not allow", schemacheck.Page{Path: "/redfish/v1/Computers/0",
			Doc: sys(map[string]any{"@odata.id": "/redfish/v1/Computers/0"})}, "uri", "/@odata.id", 0},
		{"deprecated URI", schemacheck.Page{Path: "/redfish/v1/Managers/0/VirtualMedia/CD", Doc: map[string]any{
			"@odata.type": "#VirtualMedia.v1_6_5.VirtualMedia", "@odata.id": "/redfish/v1/Managers/0/VirtualMedia/CD", "Id": "CD", "Name": "CD"}},
			"deprecated-uri", "/@odata.id", 0},
		{"Id is not the last segment", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"Id": "1"})}, "id", "/Id", 0},
		{"Allow beyond the capabilities", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(nil),
			Header: http.Header{"Allow": {"GET, HEAD, PATCH, POST"}}}, "allow", "/[Allow]", 0},
		{"deprecated property", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"IndicatorLED": "Off"})},
			"deprecated-property", "/IndicatorLED", 0},
		{"deprecated value", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"Status": map[string]any{"State": "Qualified"}})},
			"deprecated-value", "/Status/State", 0},
		{"empty read-only string", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"Manufacturer": ""})},
			"empty-string", "/Manufacturer", 0},
		{"write-only not null", schemacheck.Page{Path: "/redfish/v1/AccountService/Accounts/1", Doc: map[string]any{
			"@odata.type": "#ManagerAccount.v1_14_1.ManagerAccount", "@odata.id": "/redfish/v1/AccountService/Accounts/1",
			"Id": "1", "Name": "A", "Password": "secret"}}, "write-only", "/Password", 0},
		{"MemberId not the index", schemacheck.Page{Path: "/redfish/v1/Chassis/0/Thermal", Doc: map[string]any{
			"@odata.type": "#Thermal.v1_7_3.Thermal", "@odata.id": "/redfish/v1/Chassis/0/Thermal", "Id": "Thermal", "Name": "T",
			"Fans": []any{map[string]any{"@odata.id": "/redfish/v1/Chassis/0/Thermal#/Fans/0", "MemberId": "Fan1", "Name": "F"}}}},
			"member-id", "/Fans/0/MemberId", 0},
		{"member @odata.id not its JSON pointer", schemacheck.Page{Path: "/redfish/v1/Chassis/0/Thermal", Doc: map[string]any{
			"@odata.type": "#Thermal.v1_7_3.Thermal", "@odata.id": "/redfish/v1/Chassis/0/Thermal", "Id": "Thermal", "Name": "T",
			"Fans": []any{map[string]any{"@odata.id": "/redfish/v1/Chassis/0/Thermal#/Fans/1", "MemberId": "0", "Name": "F"}}}},
			"member-id", "/Fans/0/@odata.id", 0},
		{"link to the wrong type", schemacheck.Page{Path: "/redfish/v1/Systems/0",
			Doc: sys(map[string]any{"Links": map[string]any{"Chassis": []any{ref("/redfish/v1/Systems/1")}}})}, "link", "/Links/Chassis/0", 0},
		{"link to nothing", schemacheck.Page{Path: "/redfish/v1/Systems/0",
			Doc: sys(map[string]any{"Links": map[string]any{"Chassis": []any{ref("/redfish/v1/Chassis/9")}}})}, "link", "/Links/Chassis/0", 0},
		{"reference with extra properties", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{
			"Links": map[string]any{"ConsumingComputerSystems": []any{map[string]any{"@odata.id": "/redfish/v1/Systems/1", "Name": "x"}}}})},
			"link", "/Links/ConsumingComputerSystems/0", 0},
		{"action with a property besides target and title", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"Actions": map[string]any{
			"#ComputerSystem.Reset": map[string]any{"target": "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", "Foo": 1}}})},
			"action", "/Actions/#ComputerSystem.Reset", 1},
		{"action target elsewhere", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"Actions": map[string]any{
			"#ComputerSystem.Reset": map[string]any{"target": "/redfish/v1/Systems/0/Reset"}}})},
			"action", "/Actions/#ComputerSystem.Reset", 1},
		{"DurableName against its format", schemacheck.Page{Path: "/redfish/v1/Chassis/0/Drives/0", Doc: map[string]any{
			"@odata.type": "#Drive.v1_22_0.Drive", "@odata.id": "/redfish/v1/Chassis/0/Drives/0", "Id": "0", "Name": "D",
			"Identifiers": []any{map[string]any{"DurableNameFormat": "NAA", "DurableName": "xyz"}}}},
			"durable-name", "/Identifiers/0/DurableName", 0},
		{"copyright outside a registry", schemacheck.Page{Path: "/redfish/v1/Systems/0", Doc: sys(map[string]any{"@Redfish.Copyright": "c"})},
			"copyright", "/@Redfish.Copyright", 0},
	}
	for _, c := range cases {
		if c.page.Header == nil {
			c.page.Header = http.Header{}
		}
		found, targets := serviceRules(model, c.page, fetch)
		ok := false
		for _, f := range found {
			if f.Rule == c.rule && f.Pointer == c.ptr {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no %s finding at %q; found %v", c.name, c.rule, c.ptr, found)
		}
		if len(targets) != c.wantTargets {
			t.Errorf("%s: action targets %v", c.name, targets)
		}
	}
	// A clean system breaks no rule.
	clean := schemacheck.Page{Path: "/redfish/v1/Systems/0", Header: http.Header{"Allow": {"GET, HEAD, PATCH"}}, Doc: sys(map[string]any{
		"Links":   map[string]any{"ConsumingComputerSystems": []any{ref("/redfish/v1/Systems/1")}},
		"Actions": map[string]any{"#ComputerSystem.Reset": map[string]any{"target": "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset"}},
	})}
	if found, targets := serviceRules(model, clean, fetch); len(found) != 0 || len(targets) != 1 {
		t.Errorf("a clean system: findings %v, targets %v", found, targets)
	}
}

// ironicProfile is the OpenStack Ironic interoperability profile the DMTF
// Interop Validator is run with; it is DMTF's published file, which CI
// has beside the repository (../shared).
const ironicProfile = "redfish/profiles/OpenStackIronicProfile.v1_2_0.json"

// sharedFile finds a file of the shared DMTF bundle: beside the
// repository, or beside the main checkout of a git worktree.
func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	candidates := []string{filepath.Join("..", "..", "shared", rel)}
	if out, err := exec.Command("git", "rev-parse", "--path-format=absolute", "--git-common-dir").Output(); err == nil {
		common := strings.TrimSpace(string(out))
		candidates = append(candidates, filepath.Join(filepath.Dir(filepath.Dir(common)), "shared", rel))
	}
	for _, c := range candidates {
		if fileExists(c) {
			return c
		}
	}
	msg := fmt.Sprintf("%s not found in %v", rel, candidates)
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

// profileException is a requirement of the Ironic profile bmcd does not
// meet, on purpose or not yet, and why.
type profileException struct {
	Level, Resource string
	Property        string // path.Match pattern, e.g. `Fans\[*\].SerialNumber`
	Reason          string
	Pending         bool // another branch adds it: may match nothing
}

// ironicExceptions are the Recommended items of the Ironic profile bmcd
// does not serve, and the Mandatory ones another branch adds.
var ironicExceptions = []profileException{
	{Level: "Recommended", Resource: "ServiceRoot", Property: "TaskService",
		Reason: "the profile names a property ServiceRoot does not define: the TaskService link is Tasks, which bmcd serves (checked below)"},
	{Level: "Recommended", Resource: "Bios", Property: "@Redfish.Settings.ETag",
		Reason: "the ETag of the Bios after the apply would be part of the Bios it tags; Time and Messages say when and how"},
	{Level: "Recommended", Resource: "Bios", Property: "@Redfish.Settings.Messages",
		Reason: "absent until staged settings first take effect (the walk applies some on system 0, stages some on system 1)"},
	{Level: "Recommended", Resource: "SecureBoot", Property: "Actions.ResetKeys",
		Reason: "no backend models the secure boot key databases (PK, KEK, db, dbx)"},
	{Level: "Recommended", Resource: "Thermal", Property: `Fans\[*\].SerialNumber`,
		Reason: "the backends report fan speed sensors, not fan FRUs with serial numbers"},
	{Level: "Recommended", Resource: "Thermal", Property: `Temperatures\[*\].SensorNumber`,
		Reason: "sensor numbers come with the IPMI SDR, which bmcd does not serve yet"},
}

// TestInteropIronicProfile checks bmcd against the OpenStack Ironic
// interoperability profile, as the DMTF Interop Validator does (see
// schemacheck.Profile.Check for where it follows DSP0272 instead of the
// validator's bugs: the validator fails Bios @Redfish.Settings
// SupportedApplyTimes ["OnReset"] because it looks up
// "SupportedApplyTimes#0@Redfish.AllowableValues"). Every Mandatory
// requirement must hold, and every Recommended one too unless
// ironicExceptions says why bmcd does not serve it.
func TestInteropIronicProfile(t *testing.T) {
	t.Parallel()
	profile, err := schemacheck.LoadProfile(sharedFile(t, ironicProfile))
	if err != nil {
		t.Fatal(err)
	}
	b := startBMC(t, bmcOpts{Systems: 2, IPMI: true})
	populateTree(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pages, err := schemacheck.Crawl(ctx, b.client, b.URL, func(r *http.Request) { r.SetBasicAuth(b.User, b.Password) })
	if err != nil {
		t.Fatalf("crawl: %v", err)
	}
	byPath := map[string]map[string]any{}
	var docs []schemacheck.ProfileDocument
	for _, pg := range pages {
		if pg.Doc == nil || strings.Contains(pg.Path, "?") {
			continue
		}
		byPath[pg.Path] = pg.Doc
		if pg.FromAnnotation {
			// A Bios's pending settings: the Interop Validator follows no
			// link inside an annotation, and a settings object is not the
			// resource the profile describes.
			continue
		}
		docs = append(docs, schemacheck.ProfileDocument{Path: pg.Path, Header: pg.Header, Doc: pg.Doc})
	}
	get := func(p string) (map[string]any, bool) {
		if d, ok := byPath[p]; ok {
			return d, true
		}
		r, err := b.Do(request{Method: http.MethodGet, Path: p})
		if err != nil || r.Status != http.StatusOK {
			return nil, false
		}
		return r.JSON(t), true
	}
	used := make([]bool, len(ironicExceptions))
	var bad []string
	for _, f := range profile.Check(docs, get) {
		ok := false
		for i, e := range ironicExceptions {
			if m, _ := path.Match(e.Property, f.Property); m && e.Level == f.Level && e.Resource == f.Resource {
				used[i], ok = true, true
			}
		}
		if !ok {
			bad = append(bad, f.String())
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d requirement(s) of %s not met:\n%s", len(bad), profile.ProfileName, strings.Join(bad, "\n"))
	}
	if tasks, _ := byPath["/redfish/v1"]["Tasks"].(map[string]any); tasks["@odata.id"] != "/redfish/v1/TaskService" {
		t.Errorf("ServiceRoot Tasks %v, want the TaskService", tasks)
	}
	for i, e := range ironicExceptions {
		switch {
		case used[i]:
		case e.Pending:
			t.Logf("pending exception matched nothing (its work has landed? drop it): %+v", e)
		default:
			t.Errorf("exception matches nothing; drop it: %+v", e)
		}
	}
}
