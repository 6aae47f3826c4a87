package roles

import "errors"

// Errors of the role configuration, wrapped with the role and what to do.
var (
	// ErrNeedNATS: a role that runs on its own (gateway, invoker) was given
	// no --nats URL. Only `gust up` and `gust controller` embed a server.
	ErrNeedNATS = errors.New("--nats URL (GUST_NATS) is required")
	// ErrNeedRedis: a role that runs on its own was given no --redis URL.
	// The embedded store belongs to one process, so separate roles can
	// only share state through Redis.
	ErrNeedRedis = errors.New("--redis URL (GUST_REDIS) is required")
)
