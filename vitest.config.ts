import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    // Generous liveness bounds: a test that passes takes a few seconds, but CI shares two cores with every
    // nats-server, doppler and browser the suite starts. A test never asserts a speed (that is bench/'s job).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Integration tests each start their own nats-server; two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
});
