import { defineConfig } from "vitest/config";

// The NATS-node drills: a 3-node cluster, faults and 20,000 lines/s. They run one at a time after the main suite
// (`npm test` runs the node kill and the rolling restart; `npm run drills` runs all three), so that no other test
// file shares the two cores with them. The frozen-node drill still loses a batch at a live tail about once in ten
// runs under load (docs/OPERATIONS.md, issue 12), so it does not gate CI yet.
export default defineConfig({
  test: {
    include: ["test/drills/**/*.drill.ts"],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
