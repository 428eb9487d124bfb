package tlog

import (
	"io"
	"os"
	"testing"

	"k8s.io/klog/v2"
)

// TestMain silences Tessera's klog output (set TLOG_KLOG=1 to see it), so that
// test and benchmark output stays readable and parseable by benchstat.
func TestMain(m *testing.M) {
	if os.Getenv("TLOG_KLOG") == "" {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	os.Exit(m.Run())
}
