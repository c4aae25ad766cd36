package redfish

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/hardware"
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
		ODataType: messageODataType, MessageID: baseMessagePrefix + key, Message: text,
		MessageArgs: args, MessageSeverity: rm.MessageSeverity, Resolution: rm.Resolution,
	}
}

// apiError is an error with its HTTP status and Base registry messages.
type apiError struct {
	status int
	msgs   []message
	header http.Header
}

func (e *apiError) Error() string {
	parts := make([]string, len(e.msgs))
	for i, m := range e.msgs {
		parts[i] = m.MessageID + ": " + m.Message
	}
	return fmt.Sprintf("%d %s", e.status, strings.Join(parts, "; "))
}

func apiErr(status int, key string, args ...string) *apiError {
	return &apiError{status: status, msgs: []message{newMessage(key, args...)}}
}

func notFound(typ, id string) *apiError {
	return apiErr(http.StatusNotFound, "ResourceNotFound", typ, id)
}

// fromHardware maps machine-model errors to Redfish responses.
func fromHardware(err error) *apiError {
	var ae *apiError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, hardware.ErrNotSupported):
		return apiErr(http.StatusBadRequest, "ActionNotSupported", err.Error())
	case errors.Is(err, hardware.ErrBusy):
		return apiErr(http.StatusConflict, "ResourceInUse")
	case errors.Is(err, hardware.ErrState):
		return withResolution(apiErr(http.StatusConflict, "OperationNotAllowed"), err)
	case errors.Is(err, hardware.ErrMedia), errors.Is(err, hardware.ErrInvalid):
		return withResolution(apiErr(http.StatusBadRequest, "OperationFailed"), err)
	}
	return internalError(err)
}

// withResolution puts err's text in the first message's Resolution, where
// the registry's own text says nothing specific.
func withResolution(e *apiError, err error) *apiError {
	e.msgs[0].Resolution = err.Error()
	return e
}

func internalError(err error) *apiError {
	return withResolution(apiErr(http.StatusInternalServerError, "InternalError"), err)
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
