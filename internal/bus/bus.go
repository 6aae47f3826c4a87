package bus

import (
	"encoding/json"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Version of the message formats below.
const Version = 1

// DefaultPrefix starts every subject.
const DefaultPrefix = "gust."

// AsyncStream is the JetStream stream of accepted non-blocking activations,
// and AsyncConsumer the durable consumer all invokers share.
const (
	AsyncStream   = "GUST_ASYNC"
	AsyncConsumer = "invokers"
)

// ComposeStream is the JetStream stream of accepted sequence and conductor
// invocations, and ComposeConsumer the durable consumer all controllers
// share.
const (
	ComposeStream   = "GUST_COMPOSE"
	ComposeConsumer = "controllers"
)

// HeartbeatInterval is how often invokers beat; an invoker silent for
// DeadAfter gets no new work.
const (
	HeartbeatInterval = time.Second
	DeadAfter         = 3 * time.Second
)

// Subjects builds subject names under one prefix.
type Subjects struct{ Prefix string }

func (s Subjects) Invoke(invoker string) string { return s.Prefix + "invoke." + invoker }
func (s Subjects) Async() string                { return s.Prefix + "async" }
func (s Subjects) Compose() string              { return s.Prefix + "compose" }
func (s Subjects) Heartbeat() string            { return s.Prefix + "heartbeat" }
func (s Subjects) Done(controller string) string {
	return s.Prefix + "done." + controller
}

// ActivationMessage asks an invoker to run one activation.
type ActivationMessage struct {
	V            int    `json:"v"`
	ActivationID string `json:"activationId"`
	TransID      string `json:"transId,omitempty"`
	// Namespace and Subject invoke; Action is what runs (its Exec carries
	// the code digest, not the code).
	Namespace string        `json:"namespace"`
	Subject   string        `json:"subject"`
	Action    *whisk.Action `json:"action"`
	// Args are the merged non-init parameters and request arguments.
	Args json.RawMessage `json:"args"`
	// InitEnv holds init parameters, given to /init as environment.
	InitEnv  map[string]string `json:"initEnv,omitempty"`
	Blocking bool              `json:"blocking"`
	Cause    string            `json:"cause,omitempty"`
	// Extra annotations for the record (causedBy, topmost, binding...).
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	// Received is when the controller accepted it, epoch ms (for waitTime).
	Received int64 `json:"received"`
	// APIKey is passed as __OW_API_KEY when the action asks for it.
	APIKey string `json:"apiKey,omitempty"`
}

// Result answers an ActivationMessage with the finished record.
type Result struct {
	V          int               `json:"v"`
	Activation *whisk.Activation `json:"activation"`
	// Error is set when the invoker could not run the activation at all;
	// Activation then carries a whisk internal error.
	Error string `json:"error,omitempty"`
}

// ComposeMessage is an accepted invocation of a sequence or a conductor
// action, which a controller runs step by step. Each step's activation id
// is derived from the composition's id and the step's index, so a
// controller that takes over a composition (a redelivery after a crash, a
// blocking wait that elapsed) finds the steps already recorded instead of
// running them again.
type ComposeMessage struct {
	V int `json:"v"`
	// Activation is the invocation as the gateway made it (Action is the
	// sequence or conductor action).
	Activation *ActivationMessage `json:"activation"`
	// Resume: steps may have run already; look each one up in the store
	// before running it.
	Resume bool `json:"resume,omitempty"`
	// Start is when the composition started, epoch ms (0: not yet).
	Start int64 `json:"start,omitempty"`
	// Running names a step activation that was still running when the
	// message was written: its record is awaited until RunningUntil (epoch
	// ms) before the step runs again.
	Running      string `json:"running,omitempty"`
	RunningUntil int64  `json:"runningUntil,omitempty"`
}

// Heartbeat is an invoker's periodic announcement of its health and room.
type Heartbeat struct {
	V  int    `json:"v"`
	ID string `json:"id"`
	// MemoryMB is the user-memory budget; FreeMB what is not in use by
	// busy sandboxes (idle warm ones count as free: they can be evicted).
	MemoryMB int `json:"memoryMB"`
	FreeMB   int `json:"freeMB"`
	// Warm lists "<namespace>/<action path>@<rev>" for actions with an idle
	// warm or paused sandbox, so placement can prefer warm invokers.
	Warm []string `json:"warm,omitempty"`
	// Sent is the sender's clock, epoch ms.
	Sent int64 `json:"sent"`
}

// WarmKey is the Heartbeat.Warm entry for an action revision.
func WarmKey(a *whisk.Action) string { return a.Namespace + "/" + a.Name + "@" + a.Rev }
