// The long fuzz run (issue 8): the same property tests CI runs with a few hundred cases each (`*.fuzz.test.ts`
// beside the parsers: resume cursor, Docker and CRI decoders, protojson, token claims), here with FUZZ_RUNS cases
// each. Not a timed benchmark, so bench/run.mjs does not run it.
//
//   node bench/fuzz.mjs                  # 20,000 cases per property
//   FUZZ_RUNS=200000 node bench/fuzz.mjs # longer
//   node bench/fuzz.mjs cursor claims    # only files whose path contains one of these
//
// A failure prints fast-check's counterexample and its seed and path; replay it by passing them to fc.assert, then
// keep it as a regression test beside the fuzz test.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const runs = process.env.FUZZ_RUNS ?? "20000";
const only = process.argv.slice(2);
const root = fileURLToPath(new URL("..", import.meta.url));
const filters = only.length ? only.map((o) => `${o}`) : ["fuzz.test"];
process.stderr.write(`[fuzz] ${runs} cases per property, files matching ${filters.join(", ")}\n`);
const started = Date.now();
const r = spawnSync(
  "pnpm",
  ["exec", "vitest", "run", "--testTimeout=0", ...filters.map((f) => (f === "fuzz.test" ? f : `${f}.fuzz.test`))],
  { cwd: root, stdio: "inherit", env: { ...process.env, FUZZ_RUNS: runs } },
);
process.stderr.write(`[fuzz] done in ${Math.round((Date.now() - started) / 1000)} s, exit ${r.status}\n`);
process.exit(r.status ?? 1);
