// Per-worker setup: point every Kubernetes client (kubernetes-fluent-client reads
// KUBECONFIG on each request) at the run's control plane.
import { inject } from "vitest";

process.env.KUBECONFIG = inject("kubeconfig");
