// A release held mid-way for as long as a test wants: its Deployment waits for a node label.
import { images } from "../../local-cluster/nodes";

/** The node label a held Deployment waits for. */
export const heldLabel = "e2e.stageset.dev/hold";

/**
 * A Deployment that cannot become available until a node carries `${heldLabel}=<value>`: a
 * release with it is held mid-way for as long as a test wants.
 */
export function heldDeployment(value: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      nodeSelector: { ${heldLabel}: ${value} }
      containers: [{ name: web, image: ${images.echo}, imagePullPolicy: Never }]
`;
}
