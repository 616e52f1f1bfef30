import { defineConfig } from "vitest/config";

// Projects: pure unit tests beside the code; integration tests that share one real control
// plane started in globalSetup (each test file works in its own namespace); end-to-end tests
// on real nodes; the newcomer's timed first run.
export default defineConfig({
  test: {
    // Integration tests mostly wait on the API server, so run a few files at once.
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    projects: [
      {
        test: {
          name: "unit",
          include: ["capabilities/**/*.test.ts", "cli/**/*.test.ts", "test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: ["test/integration/newcomer.test.ts"],
          globalSetup: ["test/integration/global-setup.ts"],
          setupFiles: ["test/integration/setup.ts"],
          env: { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: "forks",
        },
      },
      {
        // Real nodes (kubelet, containerd, CNI, kube-proxy, DNS, NetworkPolicy) in namespaces of
        // their own, and the product installed on them as users install it. One node cluster
        // per machine: files run one after another, with no shared loopback control plane.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: [],
          // Each file in a fresh process (Pepr's kind registry is process-wide); one file at a
          // time because whoever runs this project passes --no-file-parallelism (npm run e2e, test.sh).
          env: { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
          testTimeout: 20 * 60_000,
          hookTimeout: 60 * 60_000,
          pool: "forks",
        },
      },
      {
        // The newcomer's path is timed ("within 2 minutes on a warm machine"): test.sh runs it
        // alone, after the rest, so the other files' load does not count against it.
        test: {
          name: "newcomer",
          include: ["test/integration/newcomer.test.ts"],
          globalSetup: [],
          testTimeout: 240_000,
        },
      },
    ],
  },
});
