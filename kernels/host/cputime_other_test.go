//go:build !unix

package host

func cpuSeconds() float64 { return 0 }
