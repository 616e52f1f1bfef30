package main

import (
	"errors"
	"os"
	"path/filepath"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodelease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

// writeKwokStages writes kwok's own "fast" stage configs into dir. Standalone kwok
// refuses to start without stages; these make nodes Ready, pods Running and Ready,
// Job pods Succeeded, and deleted pods go away.
func writeKwokStages(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: kwok-stages <dir>")
	}
	dir := args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stages := map[string]string{
		"node-initialize.yaml":           nodefast.DefaultNodeInit,
		"node-heartbeat-with-lease.yaml": nodelease.DefaultNodeHeartbeatWithLease,
		"pod-ready.yaml":                 podfast.DefaultPodReady,
		"pod-complete.yaml":              podfast.DefaultPodComplete,
		"pod-delete.yaml":                podfast.DefaultPodDelete,
	}
	for name, body := range stages {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
