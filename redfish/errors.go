package redfish

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// baseRegistry is DMTF's Base message registry, served under
// /redfish/v1/Registries and used for every error and message.
//
//go:embed registry/Base.1.22.1.json
var baseRegistry []byte

const (
	baseRegistryID     = "Base.1.22.1"
	baseMessagePrefix  = "Base.1.22." // MessageIds carry major.minor only
	messageODataType   = "#Message.v1_3_0.Message"
	maxRequestBodySize = 64 << 10
)

type registryMessage struct {
	Message         string `json:"Message"`
	MessageSeverity string `json:"MessageSeverity"`
	Resolution      string `json:"Resolution"`
	NumberOfArgs    int    `json:"NumberOfArgs"`
}

var baseMessages = func() map[string]registryMessage {
	var reg struct {
		Messages map[string]registryMessage `json:"Messages"`
	}
	if err := json.Unmarshal(baseRegistry, &reg); err != nil {
		panic("embedded Base registry: " + err.Error())
	}
	return reg.Messages
}()

// message is one entry of @Message.ExtendedInfo.
type message struct {
	ODataType       string   `json:"@odata.type"`
	MessageID       string   `json:"MessageId"`
	Message         string   `json:"Message"`
	MessageArgs     []string `json:"MessageArgs"`
	MessageSeverity string   `json:"MessageSeverity"`
	Resolution      string   `json:"Resolution"`
}

// newMessage fills a Base registry message with its arguments.
func newMessage(key string, args ...string) message {
	rm, ok := baseMessages[key]
	if !ok { // a programming error; never fail the response over it
		key, rm, args = "GeneralError", baseMessages["GeneralError"], nil
	}
	return fillMessage(baseMessagePrefix, key, rm, args)
}

// fillMessage renders message key of a registry (MessageIds start with
// prefix) with its arguments.
func fillMessage(prefix, key string, rm registryMessage, args []string) message {
	// The registry fixes the argument count; keep to it whatever the caller passed.
	args = append(args[:min(len(args), rm.NumberOfArgs):min(len(args), rm.NumberOfArgs)],
		make([]string, max(0, rm.NumberOfArgs-len(args)))...)
	if args == nil {
		args = []string{} // MessageArgs is an array, never null
	}
	// One pass, %10 before %1, so that an argument holding "%1" (a query
	// value a client sent) is not substituted again.
	pairs := make([]string, 0, 2*len(args))
	for i := len(args); i >= 1; i-- {
		pairs = append(pairs, fmt.Sprintf("%%%d", i), args[i-1])
	}
	text := strings.NewReplacer(pairs...).Replace(rm.Message)
	return message{
		ODataType: messageODataType, MessageID: prefix + key, Message: text,
		MessageArgs: args, MessageSeverity: rm.MessageSeverity, Resolution: rm.Resolution,
	}
}

// apiError is an error with its HTTP status and Base registry messages.
// Every message is the registry's own text (Message with its arguments,
// Resolution as the registry has it): what is known beyond the arguments,
// such as a backend's error text, is the cause, which the service logs and
// never sends.
type apiError struct {
	status int
	msgs   []message
	header http.Header
	cause  error
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.msgs))
	for i, m := range e.msgs {
		parts[i] = m.MessageID + ": " + m.Message
	}
	s := fmt.Sprintf("%d %s", e.status, strings.Join(parts, "; "))
	if e.cause != nil {
		s += " (cause: " + e.cause.Error() + ")"
	}
	return s
}

// Unwrap makes the cause reachable with errors.Is and errors.As.
func (e *apiError) Unwrap() error { return e.cause }

func apiErr(status int, key string, args ...string) *apiError {
	return &apiError{status: status, msgs: []message{newMessage(key, args...)}}
}

func notFound(typ, id string) *apiError {
	return apiErr(http.StatusNotFound, "ResourceNotFound", typ, id)
}

// withCause records err as the detail behind e, for the service's log. It
// changes nothing that the client sees.
func withCause(e *apiError, err error) *apiError {
	e.cause = err
	return e
}

// backendRetryAfter is the Retry-After, in seconds, of a request the
// machine's backend could not carry out (hardware.ErrUnavailable).
const backendRetryAfter = 5

// fromHardware maps machine-model errors to Redfish responses. Where a
// message needs arguments only the handler knows (an action's name, a
// property), the handler maps the error itself (see mediaError,
// accountError); what reaches here unmapped is answered with messages that
// take no arguments.
func fromHardware(err error) *apiError {
	var ae *apiError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, hardware.ErrPoweredOff):
		// The host is in standby (off, the BMC on): ResourceInStandby is
		// Base's message for a request that needs it running.
		return withCause(apiErr(http.StatusConflict, "ResourceInStandby"), err)
	case errors.Is(err, hardware.ErrBusy), errors.Is(err, hardware.ErrState):
		// "in use or in transition": a conflicting operation, or a state
		// the machine must leave before it can do this.
		return withCause(apiErr(http.StatusConflict, "ResourceInUse"), err)
	case errors.Is(err, hardware.ErrUnavailable):
		// The backend (a hypervisor, the board's devices) failed: the
		// service is fine, the machine behind it is not reachable now.
		e := withCause(apiErr(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", strconv.Itoa(backendRetryAfter)), err)
		e.header = http.Header{"Retry-After": {strconv.Itoa(backendRetryAfter)}}
		return e
	}
	// ErrNotSupported, ErrInvalid, ErrMedia and ErrNotFound are mapped by
	// the handlers that can name what was not supported or invalid; one
	// that arrives here is a handler bug, not the client's.
	return internalError(err)
}

// fetchError maps a failed fetch of a remote file (an image, a firmware
// package), classified by internal/fetch, to the Base message that says
// why: 404/410 ResourceMissingAtURI, 401/403/407
// ResourceAtUriUnauthorized, another 3xx/4xx ResourceAtUriInUnknownFormat,
// anything else (no connection, untrusted certificate, 5xx)
// CouldNotEstablishConnection.
// shown is the URL as it may be shown (redacted). The failure itself (an
// untrusted certificate, a refused connection) is the cause, logged and
// never sent: Resolution is always the registry's text.
func fetchError(err error, shown string) *apiError {
	switch {
	case errors.Is(err, fetch.ErrNotFound):
		return withCause(apiErr(http.StatusBadRequest, "ResourceMissingAtURI", shown), err)
	case errors.Is(err, fetch.ErrUnauthorized):
		return withCause(apiErr(http.StatusBadRequest, "ResourceAtUriUnauthorized", shown, unauthorizedText(err)), err)
	case errors.Is(err, fetch.ErrStatus) && httpStatusOf(err) < 500:
		// An answer that is not the file (another 4xx, a 3xx not followed).
		return withCause(apiErr(http.StatusBadRequest, "ResourceAtUriInUnknownFormat", shown), err)
	}
	// No connection, an untrusted certificate, or a server that failed.
	return withCause(apiErr(http.StatusBadRequest, "CouldNotEstablishConnection", shown), err)
}

// httpStatusOf is the HTTP status behind a failed fetch, 0 if none came.
func httpStatusOf(err error) int {
	var fe *fetch.Error
	if errors.As(err, &fe) && fe.Status != 0 {
		return fe.Status
	}
	var me *hardware.MediaError
	if errors.As(err, &me) {
		return me.HTTPStatus
	}
	return 0
}

// unauthorizedText is the authorization error ResourceAtUriUnauthorized
// reports: "401 Unauthorized".
func unauthorizedText(err error) string {
	st := httpStatusOf(err)
	return strconv.Itoa(st) + " " + http.StatusText(st)
}

func internalError(err error) *apiError {
	return withCause(apiErr(http.StatusInternalServerError, "InternalError"), err)
}

// writeError writes the Redfish error response for err.
func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = fromHardware(err)
	}
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	first := ae.msgs[0]
	body := map[string]any{
		"error": map[string]any{
			"code":                  first.MessageID,
			"message":               first.Message,
			"@Message.ExtendedInfo": ae.msgs,
		},
	}
	writeJSON(w, ae.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"Base.1.22.InternalError","message":"encode response"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
