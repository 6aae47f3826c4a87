package whisk

import "encoding/json"

// Activation status codes, as stored and as listed.
const (
	StatusSuccess          = 0
	StatusApplicationError = 1
	StatusDeveloperError   = 2
	StatusInternalError    = 3
)

var statusNames = [...]string{"success", "application error", "action developer error", "whisk internal error"}

// StatusName is OpenWhisk's status string for a status code.
func StatusName(code int) string {
	if code < 0 || code >= len(statusNames) {
		return statusNames[StatusInternalError]
	}
	return statusNames[code]
}

// Response is the outcome of an activation.
type Response struct {
	Status     string          `json:"status"`
	StatusCode int             `json:"statusCode"`
	Success    bool            `json:"success"`
	Result     json.RawMessage `json:"result,omitempty"`
	Size       int             `json:"size,omitempty"`
}

// NewResponse builds a response with the status fields derived from code.
func NewResponse(code int, result json.RawMessage) Response {
	return Response{Status: StatusName(code), StatusCode: code, Success: code == StatusSuccess, Result: result, Size: len(result)}
}

// ErrorResult is OpenWhisk's {"error": msg} result.
func ErrorResult(msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}

// Activation is the record of one invocation. Namespace is the invoking
// namespace; the "path" annotation names the action itself.
type Activation struct {
	Namespace    string    `json:"namespace"`
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	Subject      string    `json:"subject"`
	ActivationID string    `json:"activationId"`
	Start        int64     `json:"start"`
	End          int64     `json:"end"`
	Duration     int64     `json:"duration"`
	StatusCode   int       `json:"statusCode"`
	Publish      bool      `json:"publish"`
	Cause        string    `json:"cause,omitempty"`
	Response     Response  `json:"response"`
	Logs         []string  `json:"logs"`
	Annotations  KeyValues `json:"annotations"`
}

// Summary is the record as activation lists show it without docs=true.
func (a *Activation) Summary() *Activation {
	s := *a
	s.Response = Response{}
	s.Logs = nil
	return &s
}

// Annotation keys on activation records.
const (
	AnnPath     = "path"
	AnnKind     = "kind"
	AnnLimits   = "limits"
	AnnWaitTime = "waitTime"
	AnnInitTime = "initTime"
	AnnTimeout  = "timeout"
	AnnStart    = "start" // Gust: how the sandbox was found: warm, prewarmed, resumed, cold
	AnnCausedBy = "causedBy"
	AnnTopmost  = "topmost"
)

// Log sentinel printed by runtimes on stdout and stderr after each /init and /run.
const LogSentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// TimeoutMessage is OpenWhisk's result for an activation that ran too long.
func TimeoutMessage(ms int) string {
	return "The action exceeded its time limits of " + itoa(ms) + " milliseconds."
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
