//go:build unix

package token_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, all threads, so GC work
// included) the test process has used. Benchmarks report it per op next
// to ns/op because wall time is unreliable on a loaded machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
