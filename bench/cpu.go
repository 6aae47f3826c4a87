package bench

import "time"

// cpuSample is CPU time used so far: by the load generator (self), by the
// gust process under test and by its descendants (runtime sandboxes). ok is
// false when the gust process could not be read (an external API host).
type cpuSample struct {
	self, gust, sandboxes time.Duration
	outside               time.Duration // the processes outside this one and gust's tree
	machine               time.Duration // all processes, 0 if unknown
	ok                    bool
}

// CPUUse is the CPU time a measured phase cost, split by process.
type CPUUse struct {
	Client    time.Duration `json:"client_ns"`
	Gust      time.Duration `json:"gust_ns,omitempty"`
	Sandboxes time.Duration `json:"sandboxes_ns,omitempty"`
	Server    bool          `json:"server_measured"` // Gust and Sandboxes are known
	// Other is what the rest of the machine used meanwhile: other
	// processes competing for the same cores, which makes numbers noisy.
	// Only known with Server.
	Other time.Duration `json:"other_ns,omitempty"`
}

// sub returns the CPU used between two samples.
func (s cpuSample) sub(before cpuSample) *CPUUse {
	u := &CPUUse{Client: s.self - before.self}
	if s.ok && before.ok {
		u.Server = true
		u.Gust = s.gust - before.gust
		// Sandboxes that exited in between may take their time with them;
		// a negative difference means that, not a negative cost.
		u.Sandboxes = max(s.sandboxes-before.sandboxes, 0)
		if s.machine > 0 && before.machine > 0 {
			// What no process accounts for is the sandboxes': when a pid
			// namespace's init dies, the kernel reaps the namespace's
			// other processes without charging their time to any parent,
			// so a sandbox destroyed during the measurement left its
			// processes' time nowhere. Charged to other processes instead,
			// it made a run with many evictions look disturbed (0.94
			// "other" cores in gust bench's mixed scenario, where a scan
			// of every process found about 0.1).
			u.Other = max(s.outside-before.outside, 0)
			rest := s.machine - before.machine - u.Client - u.Gust - u.Other
			u.Sandboxes = max(u.Sandboxes, rest)
		}
	}
	return u
}
