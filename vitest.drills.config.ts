import { defineConfig } from "vitest/config";

// The NATS-node drills: a 3-node cluster, faults and 20,000 lines/s. They run one at a time after the main suite
// (`npm test` runs all three: the node killed, the rolling restart and the node frozen; `npm run drills` runs them
// alone), so that no other test file shares the two cores with them.
export default defineConfig({
  test: {
    include: ["test/drills/**/*.drill.ts"],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
