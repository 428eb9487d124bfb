//go:build !linux

package main

import "time"

// threadCPU is unknown here: only the wall-clock rates are printed.
func threadCPU() time.Duration { return 0 }
