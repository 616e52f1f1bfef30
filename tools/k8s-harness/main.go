// Command k8s-harness is a multi-call binary holding a real Kubernetes control plane
// for StageSet's tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
// kwok and kubectl, built from the Go module proxy. It dispatches on argv[0] (symlinks)
// or on its first argument. Each component runs in its own process, as upstream does,
// so their global flag registries never meet.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"

	_ "time/tzdata" // CronJob time zones, as upstream kube-apiserver does
)

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if name == "k8s-harness" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
	case "kube-apiserver":
		run(apiserver.NewAPIServerCommand(), args)
	case "kube-controller-manager":
		run(kcm.NewControllerManagerCommand(), args)
	case "kube-scheduler":
		run(scheduler.NewSchedulerCommand(), args)
	case "kubectl":
		run(kubectl.NewDefaultKubectlCommand(), args)
	case "kwok":
		os.Exit(runKwok(args))
	case "pki":
		os.Exit(exitOn(writePKI(args)))
	case "kwok-stages":
		os.Exit(exitOn(writeKwokStages(args)))
	default:
		fmt.Fprintf(os.Stderr, "k8s-harness: unknown component %q (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, pki, kwok-stages)\n", name)
		os.Exit(2)
	}
}

func run(cmd *cobra.Command, args []string) {
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}

// runKwok mirrors kwok's own main: its config and log flags live on a separate flag
// set that kwok parses from os.Args itself.
func runKwok(args []string) int {
	os.Args = append([]string{"kwok"}, args...)
	// Kubernetes components register a non-bool --version on the global flag set, which
	// cobra merges into every command; kwok's own --version is a bool. Start it clean.
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ExitOnError)
	flags := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flags.ParseErrorsAllowlist.UnknownFlags = true
	flags.Usage = func() {}
	var ctx context.Context = signals.SetupSignalContext()
	ctx, _ = kwoklog.InitFlags(ctx, flags)
	ctx, err := kwokconfig.InitFlags(ctx, flags)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := kwokcmd.NewCommand(ctx)
	cmd.PersistentFlags().AddFlagSet(flags)
	cmd.SetArgs(args)
	return exitOn(cmd.ExecuteContext(ctx))
}

func exitOn(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-harness:", err)
		return 1
	}
	return 0
}
