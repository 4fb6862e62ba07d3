// Prints the settings tables of docs/CONFIGURATION.md from the code's own specs: node scripts/config-doc.mjs
import { agentSpec } from "@tailrace/agent";
import { dopplerSpec } from "@tailrace/doppler";
import { describe } from "@tailrace/runtime";

const sections = [
  ["Agent (`tailrace agent`, `tailrace run`)", agentSpec],
  ["Doppler (`tailrace doppler`)", dopplerSpec],
];
for (const [title, spec] of sections) console.log(`## ${title}\n\n${describe(spec)}\n`);
