package bench

import "time"

// cpuSample is CPU time used so far: by the load generator (self), by the
// gust process under test and by its descendants (runtime sandboxes). ok is
// false when the gust process could not be read (an external API host).
type cpuSample struct {
	self, gust, sandboxes time.Duration
	ok                    bool
}

// CPUUse is the CPU time a measured phase cost, split by process.
type CPUUse struct {
	Client    time.Duration `json:"client_ns"`
	Gust      time.Duration `json:"gust_ns,omitempty"`
	Sandboxes time.Duration `json:"sandboxes_ns,omitempty"`
	Server    bool          `json:"server_measured"` // Gust and Sandboxes are known
}

// sub returns the CPU used between two samples.
func (s cpuSample) sub(before cpuSample) *CPUUse {
	u := &CPUUse{Client: s.self - before.self}
	if s.ok && before.ok {
		u.Server = true
		u.Gust = s.gust - before.gust
		// Sandboxes that exited in between take their time with them; a
		// negative difference means that, not a negative cost.
		u.Sandboxes = max(s.sandboxes-before.sandboxes, 0)
	}
	return u
}
