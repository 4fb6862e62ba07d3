import { parseArgs } from "node:util";
import type { Envelope } from "@tailrace/envelope";
import { readRecent } from "../client.js";
import { UsageError } from "../errors.js";
import { clientSettings } from "../settings.js";

export const metricsUsage = `tailrace metrics APP [--tenant T] [--json]
  Prints each instance's latest cpu, memory, disk and log rate, as \`cf app\` does, from the container metrics the
  agents send (read through the Log Cache API, newest first).
  --json          one object per instance a line
  --tenant T      the tenant to read, when the token carries several
  --api URL       the doppler (TAILRACE_API, default http://127.0.0.1:8080)
  --token JWT     the bearer token (TAILRACE_TOKEN)`;

export interface InstanceRow {
  instance: string;
  process: string;
  /** ms since the epoch of the gauge this row comes from. */
  at: number;
  cpu?: number;
  memory?: number;
  memoryQuota?: number;
  disk?: number;
  diskQuota?: number;
  logRate?: number;
  logRateLimit?: number;
}

const G = {
  cpu: "cpu",
  memory: "memory",
  memoryQuota: "memory_quota",
  disk: "disk",
  diskQuota: "disk_quota",
  logRate: "log_rate",
  logRateLimit: "log_rate_limit",
} as const;

/** The newest container gauge of each instance (envelopes newest first), as rows sorted by process and instance. */
export function latestPerInstance(newestFirst: Envelope[]): InstanceRow[] {
  const rows = new Map<string, InstanceRow>();
  for (const e of newestFirst) {
    if (!e.gauge || !("cpu" in e.gauge.metrics || "memory" in e.gauge.metrics)) continue;
    const process = e.tags.process_type ?? "";
    const key = `${process}\u0000${e.instanceId}`;
    if (rows.has(key)) continue;
    const row: InstanceRow = { instance: e.instanceId, process, at: Number(e.timestamp / 1_000_000n) };
    for (const [field, name] of Object.entries(G) as Array<[keyof typeof G, string]>) {
      const v = e.gauge.metrics[name]?.value;
      if (v !== undefined) row[field] = v;
    }
    rows.set(key, row);
  }
  return [...rows.values()].sort(
    (a, b) => a.process.localeCompare(b.process) || Number(a.instance) - Number(b.instance) || a.instance.localeCompare(b.instance),
  );
}

/** Bytes as `cf app` shows them: `236.4M`, `1G`, `512K`. */
export function humanBytes(n: number | undefined): string {
  if (n === undefined || n < 0) return "-";
  const units = ["B", "K", "M", "G", "T"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${s}${units[i]}`;
}

function of(used: number | undefined, quota: number | undefined): string {
  return quota !== undefined && quota > 0 ? `${humanBytes(used)} of ${humanBytes(quota)}` : humanBytes(used);
}

function rate(used: number | undefined, limit: number | undefined): string {
  const u = `${humanBytes(used)}/s`;
  if (limit === undefined) return u;
  return limit < 0 ? `${u} of unlimited` : `${u} of ${humanBytes(limit)}/s`;
}

/** The table `tailrace metrics` prints: one header, then one line per instance. */
export function formatTable(rows: InstanceRow[], now = Date.now()): string {
  const cells = rows.map((r) => [
    `#${r.instance}`,
    r.process || "-",
    `${(r.cpu ?? 0).toFixed(1)}%`,
    of(r.memory, r.memoryQuota),
    of(r.disk, r.diskQuota),
    rate(r.logRate, r.logRateLimit),
    `${Math.max(0, Math.round((now - r.at) / 1000))}s ago`,
  ]);
  const header = ["", "process", "cpu", "memory", "disk", "logging", "reported"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] as number))
      .join("   ")
      .trimEnd();
  return [line(header), ...cells.map(line)].join("\n");
}

export async function metrics(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      tenant: { type: "string" },
      api: { type: "string" },
      token: { type: "string" },
      ca: { type: "string" },
    },
  });
  const app = positionals[0];
  if (!app || positionals.length > 1) throw new UsageError(`expected one APP\n${metricsUsage}`);
  const s = clientSettings(values);
  const params = new URLSearchParams({ envelope_types: "GAUGE", descending: "true", limit: "1000" });
  if (values.tenant) params.set("tenant", values.tenant);
  const rows = latestPerInstance(await readRecent(s, app, params));
  if (values.json) {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no container metrics for ${app} yet (agents send them every 15 s)\n`);
    return 0;
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  return 0;
}
