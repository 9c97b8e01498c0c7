import { defineConfig } from "vitest/config";

// One run covers every package: unit tests sit beside the file they test
// (packages/*/src/**/*.test.ts); cross-package tests live in packages/conformance.
// Workspace packages are imported by name and resolve to their built dist/,
// exactly as users get them; `pnpm test` builds first.
export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "examples/*/src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    server: {
      deps: {
        // Load built packages natively instead of through Vite's transform:
        // the generated API is ~165k lines and Node caches it per worker.
        external: [/\/packages\/[^/]+\/dist\//],
      },
    },
  },
});
