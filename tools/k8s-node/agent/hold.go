package main

import (
	"os"
	"os/signal"
	"syscall"
)

// runHold sleeps until SIGTERM or SIGINT. Its arguments are only there to be seen in
// /proc/<pid>/cmdline, so a reaper can tell this process from a recycled pid.
func runHold(_ []string) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}
