// Runs every benchmark scenario and writes the figures, beside the raw NATS floor of the same run, into
// docs/BENCHMARKS.md between the generated markers. Usage: node bench/run.mjs [scenario ...]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const SCENARIOS = {
  codec: { file: "./codec.mjs", title: "Batch codec (binary vs protojson), 256 log lines a batch" },
  e2e_tail: { file: "./e2e_tail.mjs", title: "Agent publisher → NATS → doppler → one websocket tail" },
  agent_docker: { file: "./agent_docker.mjs", title: "Agent reading Docker json-file logs" },
  drain_syslog: { file: "./drain_syslog.mjs", title: "Drainer → one TCP syslog drain" },
  doppler_tails: { file: "./doppler_tails.mjs", title: "Doppler: many tails, recent reads, idle memory" },
  metrics_scrape: { file: "./metrics_scrape.mjs", title: "Doppler: scraping a tenant with 1,000 instances × 10 metrics" },
  console_render: { file: "./console_render.mjs", title: "Web console in headless Chromium at 5,000 lines/s" },
  cluster: { file: "./cluster.mjs", title: "Cluster (3 nodes, R3)" },
};

const wanted = process.argv.slice(2);
const results = [];
for (const [name, s] of Object.entries(SCENARIOS)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const path = fileURLToPath(new URL(s.file, import.meta.url));
  if (!existsSync(path)) continue;
  process.stderr.write(`[bench] ${name}…\n`);
  const started = Date.now();
  const mod = await import(path);
  const figures = await mod.run();
  results.push({ name, title: s.title, figures, seconds: Math.round((Date.now() - started) / 1000) });
  process.stderr.write(`[bench] ${name}: ${JSON.stringify(figures, (k, v) => (k === "lat" ? undefined : v))}\n`);
}

const doc = fileURLToPath(new URL("../docs/BENCHMARKS.md", import.meta.url));
const stamp = new Date().toISOString().slice(0, 16).replace("T", " ");
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
let section = `<!-- bench:begin -->\nLast run: ${stamp} UTC on ${machine}.\n\n`;
for (const r of results) {
  section += `### ${r.title}\n\n\`\`\`json\n${JSON.stringify(r.figures, null, 2)}\n\`\`\`\n\n`;
}
section += "<!-- bench:end -->";
const old = existsSync(doc) ? readFileSync(doc, "utf8") : "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n";
const next = old.includes("<!-- bench:begin -->")
  ? old.replace(/<!-- bench:begin -->[\s\S]*<!-- bench:end -->/, section)
  : `${old}\n${section}\n`;
if (wanted.length === 0) writeFileSync(doc, next);
console.log(JSON.stringify(results, null, 2));
