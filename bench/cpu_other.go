//go:build !linux

package bench

// sampleCPU reads nothing outside Linux.
func sampleCPU(gust int) cpuSample { return cpuSample{} }
