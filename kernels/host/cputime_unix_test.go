//go:build unix

package host

import "syscall"

// cpuSeconds is the CPU time (user + system) this process has used. The
// benchmarks divide work by it as well as by wall time: on a shared,
// oversubscribed machine wall time measures the neighbours, CPU time
// measures us.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
