// Command gate-clients runs the real client code of Flagger and Argo Rollouts against
// an HTTP endpoint, so tests can prove the StageSet gate server works with those tools.
//
//	gate-clients flagger --canary-file FILE [--url URL]
//	gate-clients argo-web --template-file FILE [--url GATE-URL]
//	gate-clients argo-prometheus --template-file FILE [--url PROMETHEUS-URL]
//
// FILE holds a Canary or an AnalysisTemplate exactly as a user writes it (YAML or JSON),
// decoded strictly into Flagger's and Argo's own types; its first webhook or metric is run.
//
// Each prints one JSON line on stdout. flagger exits 0 when the webhook passes and 1 when
// it is refused; the argo subcommands always exit 0. Usage errors exit 2. Logs go to stderr.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/argoproj/argo-rollouts/metricproviders/prometheus"
	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"
	log "github.com/sirupsen/logrus"
	"sigs.k8s.io/yaml"
)

const usage = "usage: gate-clients flagger|argo-web|argo-prometheus [flags] (-h lists a subcommand's flags)"

func main() {
	log.SetOutput(os.Stderr)
	if len(os.Args) < 2 {
		usageError(usage)
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "flagger":
		os.Exit(runFlagger(args))
	case "argo-web", "argo-prometheus":
		os.Exit(runArgo(cmd, args))
	default:
		usageError(usage)
	}
}

// runFlagger calls Flagger's own webhook client, as Flagger does for a canary's gate hooks,
// with the first webhook of a Canary (YAML or JSON file).
func runFlagger(args []string) int {
	fs := newFlagSet("flagger")
	file := fs.String("canary-file", "", "a Canary with spec.analysis.webhooks (required)")
	url := fs.String("url", "", "call this URL instead of the webhook's own (an in-cluster address)")
	parse(fs, args)
	var canary flaggerv1.Canary
	readStrict(*file, &canary)
	if canary.Spec.Analysis == nil || len(canary.Spec.Analysis.Webhooks) == 0 {
		usageError("flagger: the Canary has no spec.analysis.webhooks")
	}
	hook := canary.Spec.Analysis.Webhooks[0]
	if *url != "" {
		hook.URL = *url
	}
	if err := controller.CallWebhook(canary, flaggerv1.CanaryPhaseProgressing, hook); err != nil {
		printJSON(flaggerRefused{OK: false, Error: err.Error()})
		return 1
	}
	printJSON(map[string]bool{"ok": true})
	return 0
}

// runArgo runs one measurement of Argo Rollouts' web or Prometheus metric provider, with the
// first metric of an AnalysisTemplate (YAML or JSON file).
func runArgo(cmd string, args []string) int {
	fs := newFlagSet(cmd)
	file := fs.String("template-file", "", "an AnalysisTemplate with spec.metrics (required)")
	url := fs.String("url", "", "the gate URL or Prometheus address to use instead of the metric's own (an in-cluster address)")
	parse(fs, args)
	var template v1alpha1.AnalysisTemplate
	readStrict(*file, &template)
	if len(template.Spec.Metrics) == 0 {
		usageError(cmd + ": the AnalysisTemplate has no spec.metrics")
	}
	metric := template.Spec.Metrics[0]
	provider, err := argoProvider(cmd, &metric, *url)
	if err != nil {
		return printMeasurement(errorMeasurement(err))
	}
	return printMeasurement(provider.Run(&v1alpha1.AnalysisRun{}, metric))
}

type measurer interface {
	Run(*v1alpha1.AnalysisRun, v1alpha1.Metric) v1alpha1.Measurement
}

// argoProvider builds the provider as Argo's analysis controller does for that metric.
func argoProvider(cmd string, metric *v1alpha1.Metric, url string) (measurer, error) {
	switch web, prom := metric.Provider.Web, metric.Provider.Prometheus; {
	case cmd == "argo-web" && web != nil:
		if url != "" {
			web.URL = url
		}
		client, err := webmetric.NewWebMetricHttpClient(*metric)
		if err != nil {
			return nil, err
		}
		parser, err := webmetric.NewWebMetricJsonParser(*metric)
		if err != nil {
			return nil, err
		}
		return webmetric.NewWebMetricProvider(logEntry(*metric), client, parser), nil
	case cmd == "argo-prometheus" && prom != nil:
		if url != "" {
			prom.Address = url
		}
		api, err := prometheus.NewPrometheusAPI(*metric)
		if err != nil {
			return nil, err
		}
		return prometheus.NewPrometheusProvider(api, logEntry(*metric), *metric)
	}
	usageError(fmt.Sprintf("%s: the metric has no %s provider", cmd, strings.TrimPrefix(cmd, "argo-")))
	return nil, nil
}

// readStrict decodes a YAML or JSON file into the tool's own type; an unknown field is an
// error, so a typo in documented YAML fails the test instead of being ignored.
func readStrict(file string, into any) {
	if file == "" {
		usageError("a --canary-file or --template-file is required")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		usageError(err.Error())
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		usageError(fmt.Sprintf("%s: %v", file, err))
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// parse parses a subcommand's flags: -h exits 0, a bad flag or a stray argument exits 2.
func parse(fs *flag.FlagSet, args []string) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		usageError(fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)))
	}
}

func usageError(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(2)
}

// logEntry is the logrus entry handed to the Argo providers; it writes to stderr only.
func logEntry(metric v1alpha1.Metric) log.Entry {
	return *log.WithField("metric", metric.Name)
}

// flaggerRefused is the flagger subcommand's output line when the webhook refuses;
// error is always present, even when Flagger's error text is empty.
type flaggerRefused struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// argoResult is the output line of the argo subcommands.
type argoResult struct {
	Phase   v1alpha1.AnalysisPhase `json:"phase"`
	Value   string                 `json:"value"`
	Message string                 `json:"message"`
}

func errorMeasurement(err error) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: err.Error()}
}

func printMeasurement(m v1alpha1.Measurement) int {
	printJSON(argoResult{Phase: m.Phase, Value: m.Value, Message: m.Message})
	return 0
}

func printJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}
