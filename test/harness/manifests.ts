// Small manifests the engine tests publish in artifacts.

/** A Deployment `web` whose pods kwok runs to Ready. */
export function webDeployment(image: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "${image}" }] }
`;
}
