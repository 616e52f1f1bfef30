package main

import (
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// The plugins a test cluster's DNS needs. Nothing forwards outside the cluster.
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// runCoreDNS runs CoreDNS with its own flags (-conf Corefile, ...). The directive list
// keeps CoreDNS's plugin order, restricted to the plugins linked in above.
func runCoreDNS(args []string) {
	dnsserver.Directives = []string{"ready", "health", "errors", "log", "loadbalance", "cache", "kubernetes"}
	os.Args = append([]string{"coredns"}, args...)
	coremain.Run()
}
