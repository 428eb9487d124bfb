package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// withProfile runs f and, when RONGHE_CPUPROFILE names a file, writes the CPU
// profile of the whole command there (for benchmarks: bench/README.md). The
// profile ends when f returns, so a server must be stopped with SIGTERM or
// SIGINT, not killed, for the file to be complete.
func withProfile(f func() int) int {
	path := os.Getenv("RONGHE_CPUPROFILE")
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ronghe: RONGHE_CPUPROFILE:", err)
		return f()
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintln(os.Stderr, "ronghe: RONGHE_CPUPROFILE:", err)
		out.Close()
		return f()
	}
	code := f()
	pprof.StopCPUProfile()
	if err := out.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ronghe: RONGHE_CPUPROFILE:", err)
	}
	return code
}
