// Prints the settings tables of docs/CONFIGURATION.md from the code's own specs, or with --write replaces those
// sections in place: node scripts/config-doc.mjs [--write] [agent|doppler|drainer ...]
import { readFileSync, writeFileSync } from "node:fs";
import { agentSpec } from "@tailrace/agent";
import { dopplerSpec } from "@tailrace/doppler";
import { drainerSpec } from "@tailrace/drainer";
import { describe } from "@tailrace/runtime";

const SECTIONS = {
  agent: ["Agent (`tailrace agent`, `tailrace run`)", agentSpec],
  doppler: ["Doppler (`tailrace doppler`)", dopplerSpec],
  drainer: ["Drainer (`tailrace drainer`)", drainerSpec],
};
const args = process.argv.slice(2);
const write = args.includes("--write");
const names = args.filter((a) => a !== "--write");
const chosen = names.length ? names : Object.keys(SECTIONS);
const file = new URL("../docs/CONFIGURATION.md", import.meta.url);
let doc = readFileSync(file, "utf8");
for (const name of chosen) {
  const [title, spec] = SECTIONS[name];
  const section = `## ${title}\n\n${describe(spec)}\n`;
  if (!write) {
    console.log(section);
    continue;
  }
  const at = doc.indexOf(`## ${title}`);
  if (at === -1) {
    doc = `${doc.trimEnd()}\n\n${section}`;
    continue;
  }
  const next = doc.indexOf("\n## ", at + 3);
  doc = doc.slice(0, at) + section + (next === -1 ? "" : doc.slice(next));
}
if (write) writeFileSync(file, doc);
