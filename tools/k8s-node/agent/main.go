// Command k8s-node-agent holds the small programs a real test node needs besides the
// kubelet, the container runtime and kube-proxy. It dispatches on argv[0] (symlinks) or
// on its first argument:
//
//	coredns   cluster DNS: CoreDNS with only the plugins a test cluster uses (no forwarding)
//	netpol    NetworkPolicy agent for one node, programming iptables in the node's namespace
//	image     writes an image tarball from a directory, an entrypoint and environment
//	reaper    removes what a test run's nodes left behind, when told or when its owner dies
//	hold      sleeps until signalled; keeps a node's namespaces alive and names its directory
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if name == "k8s-node-agent" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	var err error
	switch name {
	case "coredns":
		runCoreDNS(args)
		return
	case "netpol":
		err = runNetpol(args)
	case "image":
		err = runImage(args)
	case "reaper":
		err = runReaper(args)
	case "hold":
		err = runHold(args)
	default:
		fmt.Fprintf(os.Stderr, "k8s-node-agent: unknown command %q (coredns, netpol, image, reaper, hold)\n", name)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-node-agent:", err)
		os.Exit(1)
	}
}
