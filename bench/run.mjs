// Runs every benchmark scenario and writes the figures, beside the raw NATS floor of the same run, into
// docs/BENCHMARKS.md between the generated markers. Usage: node bench/run.mjs [--write] [scenario ...]
// Named scenarios only print their figures, unless --write: then their own sections are replaced (or added), each
// stamped with its run, and the other sections are left as they were.
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
  nats_width: { file: "./nats_width.mjs", title: "nats-server 2.9: a stream per drained app vs a consumer per drain" },
  drains_width: { file: "./drains_width.mjs", title: "Drains at width: 1 to 5,000 drains on one drainer" },
  apps_width: { file: "./apps_width.mjs", title: "Apps at width: 1 to 50,000 apps on one doppler and one nats-server" },
  tails_width: { file: "./tails_width.mjs", title: "Tails at width: 1 to 10,000 live tails over 1,000 apps" },
};

const args = process.argv.slice(2);
const write = args.includes("--write");
const wanted = args.filter((a) => !a.startsWith("--"));
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
const block = (r, stamped) =>
  `### ${r.title}\n\n${stamped ? `Run: ${stamp} UTC on ${machine}, ${r.seconds} s.\n\n` : ""}\`\`\`json\n${JSON.stringify(r.figures, null, 2)}\n\`\`\`\n\n`;
const old = existsSync(doc) ? readFileSync(doc, "utf8") : "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n";
if (wanted.length === 0) {
  let section = `<!-- bench:begin -->\nLast run: ${stamp} UTC on ${machine}.\n\n`;
  for (const r of results) section += block(r, false);
  section += "<!-- bench:end -->";
  const next = old.includes("<!-- bench:begin -->")
    ? old.replace(/<!-- bench:begin -->[\s\S]*<!-- bench:end -->/, section)
    : `${old}\n${section}\n`;
  writeFileSync(doc, next);
} else if (write) {
  let next = old.includes("<!-- bench:begin -->") ? old : `${old}\n<!-- bench:begin -->\n<!-- bench:end -->\n`;
  for (const r of results) {
    // The scenario's own section: from its heading to the next heading or the end marker.
    const head = `### ${r.title}\n`;
    const at = next.indexOf(head, next.indexOf("<!-- bench:begin -->"));
    if (at === -1) next = next.replace("<!-- bench:end -->", `${block(r, true)}<!-- bench:end -->`);
    else {
      const from = at + head.length;
      const nextHead = next.indexOf("\n### ", from);
      const endMarker = next.indexOf("<!-- bench:end -->", from);
      const end = nextHead >= 0 && nextHead < endMarker ? nextHead + 1 : endMarker;
      next = next.slice(0, at) + block(r, true) + next.slice(end);
    }
  }
  writeFileSync(doc, next);
}
console.log(JSON.stringify(results, null, 2));
