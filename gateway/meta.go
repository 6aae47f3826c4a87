package gateway

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/whisk"
)

// apiInfo is GET / and GET /api/v1: OpenWhisk's controller info (api_paths,
// limits, runtimes) merged with its /api/v1 info (api_version...).
type apiInfo struct {
	Description    string                     `json:"description"`
	APIVersion     string                     `json:"api_version"`
	APIVersionPath string                     `json:"api_version_path"`
	Build          string                     `json:"build"`
	BuildNo        string                     `json:"buildno"`
	APIPaths       []string                   `json:"api_paths"`
	Limits         infoLimits                 `json:"limits"`
	Runtimes       map[string][]whisk.Runtime `json:"runtimes"`
}

// infoLimits are the system limits, durations in ms and sizes in bytes.
type infoLimits struct {
	ActionsPerMinute   int `json:"actions_per_minute"`
	TriggersPerMinute  int `json:"triggers_per_minute"`
	ConcurrentActions  int `json:"concurrent_actions"`
	SequenceLength     int `json:"sequence_length"`
	MinActionDuration  int `json:"min_action_duration"`
	MaxActionDuration  int `json:"max_action_duration"`
	MinActionMemory    int `json:"min_action_memory"`
	MaxActionMemory    int `json:"max_action_memory"`
	MinActionLogs      int `json:"min_action_logs"`
	MaxActionLogs      int `json:"max_action_logs"`
	DefaultMinDuration int `json:"default_min_action_duration"`
	DefaultMaxDuration int `json:"default_max_action_duration"`
	DefaultMinMemory   int `json:"default_min_action_memory"`
	DefaultMaxMemory   int `json:"default_max_action_memory"`
	DefaultMinLogs     int `json:"default_min_action_logs"`
	DefaultMaxLogs     int `json:"default_max_action_logs"`
}

func (g *Gateway) encodeInfo() ([]byte, error) {
	const mb = 1 << 20
	l := infoLimits{
		ActionsPerMinute:   g.cfg.InvocationsPerMinute,
		TriggersPerMinute:  g.cfg.FiresPerMinute,
		ConcurrentActions:  g.cfg.ConcurrentInvocations,
		SequenceLength:     maxSequenceLength,
		MinActionDuration:  whisk.MinTimeout,
		MaxActionDuration:  whisk.MaxTimeout,
		MinActionMemory:    whisk.MinMemory * mb,
		MaxActionMemory:    whisk.MaxMemory * mb,
		MinActionLogs:      whisk.MinLogs * mb,
		MaxActionLogs:      whisk.MaxLogs * mb,
		DefaultMinDuration: whisk.MinTimeout,
		DefaultMaxDuration: whisk.MaxTimeout,
		DefaultMinMemory:   whisk.MinMemory * mb,
		DefaultMaxMemory:   whisk.MaxMemory * mb,
		DefaultMinLogs:     whisk.MinLogs * mb,
		DefaultMaxLogs:     whisk.MaxLogs * mb,
	}
	return json.Marshal(apiInfo{
		Description:    "Gust, an OpenWhisk-compatible Function-as-a-Service platform",
		APIVersion:     "1.0.0",
		APIVersionPath: "v1",
		Build:          g.cfg.Build,
		BuildNo:        g.cfg.Build,
		APIPaths:       []string{"/api/v1"},
		Limits:         l,
		Runtimes:       whisk.Runtimes(),
	})
}

// getInfo answers GET / and GET /api/v1, without authentication.
func (g *Gateway) getInfo(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(g.info)
}

// listNamespaces answers the caller's namespaces: one, its own.
func (g *Gateway) listNamespaces(c *fiber.Ctx, p *principal, _ time.Time) error {
	return c.JSON([]string{p.namespace})
}

// namespaceLimits is GET …/{ns}/limits, OpenWhisk's UserLimits with every
// field resolved.
type namespaceLimits struct {
	InvocationsPerMinute  int    `json:"invocationsPerMinute"`
	ConcurrentInvocations int    `json:"concurrentInvocations"`
	FiresPerMinute        int    `json:"firesPerMinute"`
	MinActionMemory       int    `json:"minActionMemory"`
	MaxActionMemory       int    `json:"maxActionMemory"`
	MinActionLogs         int    `json:"minActionLogs"`
	MaxActionLogs         int    `json:"maxActionLogs"`
	MinActionTimeout      int    `json:"minActionTimeout"`
	MaxActionTimeout      int    `json:"maxActionTimeout"`
	MinActionConcurrency  int    `json:"minActionConcurrency"`
	MaxActionConcurrency  int    `json:"maxActionConcurrency"`
	MaxParameterSize      string `json:"maxParameterSize"`
	MaxPayloadSize        string `json:"maxPayloadSize"`
}

func (g *Gateway) getLimits(c *fiber.Ctx, p *principal, _ time.Time) error {
	if _, err := checkNamespace(c, p); err != nil {
		return err
	}
	size := strconv.Itoa(whisk.MaxPayload) + " B"
	return c.JSON(namespaceLimits{
		InvocationsPerMinute:  p.invocationsPerMinute,
		ConcurrentInvocations: p.concurrentInvocations,
		FiresPerMinute:        p.firesPerMinute,
		MinActionMemory:       whisk.MinMemory,
		MaxActionMemory:       whisk.MaxMemory,
		MinActionLogs:         whisk.MinLogs,
		MaxActionLogs:         whisk.MaxLogs,
		MinActionTimeout:      whisk.MinTimeout,
		MaxActionTimeout:      whisk.MaxTimeout,
		MinActionConcurrency:  whisk.MinConcurrency,
		MaxActionConcurrency:  whisk.MaxConcurrency,
		MaxParameterSize:      size,
		MaxPayloadSize:        size,
	})
}
