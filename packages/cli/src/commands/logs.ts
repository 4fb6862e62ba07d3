import { parseArgs } from "node:util";
import { type Envelope, toProtoJson } from "@tailrace/envelope";
import { type FollowOptions, follow, readRecent } from "../client.js";
import { UsageError } from "../errors.js";
import { cfLines, PartJoiner } from "../format.js";
import { type ClientSettings, clientSettings } from "../settings.js";

export const logsUsage = `tailrace logs APP [--recent] [--follow] [--json] [--raw] [--tenant T] [--source-type S] [--instance I]
  --recent        print the last 1,000 lines and exit
  --follow        follow live (the default); reconnects by itself with its last cursor
  --json          one envelope (Loggregator v2 protojson) a line
  --raw           print terminal control characters as they are (by default they are made visible)
  --tenant T      the tenant to read, when the token carries several
  --api URL       the doppler (TAILRACE_API, default http://127.0.0.1:8080)
  --token JWT     the bearer token (TAILRACE_TOKEN)
  --ca FILE       a CA to trust for an https API besides the system's (TAILRACE_CA)`;

export async function logs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      recent: { type: "boolean" },
      follow: { type: "boolean" },
      json: { type: "boolean" },
      raw: { type: "boolean" },
      tenant: { type: "string" },
      "source-type": { type: "string" },
      instance: { type: "string" },
      api: { type: "string" },
      token: { type: "string" },
      ca: { type: "string" },
    },
  });
  const app = positionals[0];
  if (!app || positionals.length > 1) throw new UsageError(`expected one APP\n${logsUsage}`);
  const s = clientSettings(values);
  const params = new URLSearchParams();
  if (values.tenant) params.set("tenant", values.tenant);
  if (values["source-type"]) params.set("source_type", values["source-type"]);
  if (values.instance !== undefined) params.set("instance_id", values.instance);

  const format = { json: values.json, raw: values.raw };
  if (values.recent) {
    params.set("limit", "1000");
    params.set("descending", "true");
    params.append("envelope_types", "LOG");
    const print = printer(format, (text) => process.stdout.write(text));
    for (const e of (await readRecent(s, app, params)).reverse()) print(e);
    return 0;
  }
  await followLogs(s, app, params, format, (text) => process.stdout.write(text));
  return 0;
}

interface LogsFormat {
  json?: boolean | undefined;
  raw?: boolean | undefined;
}

/** Prints envelopes as `tailrace logs` does: `cf logs` lines (64 KiB parts joined again), or one envelope a line. */
function printer(f: LogsFormat, write: (text: string) => void): (e: Envelope) => void {
  const joiner = new PartJoiner();
  return (e) => {
    if (f.json) {
      write(`${toProtoJson(e)}\n`);
      return;
    }
    for (const ready of joiner.push(e)) write(`${cfLines(ready, f.raw).join("\n")}\n`);
  };
}

/**
 * `tailrace logs APP --follow` once its flags are read: follows the app's stream, resuming from its last cursor after
 * each reconnect, and hands what it prints to `write`. Exported so that a drill can run many followers in one process
 * on the very code path of the command (issue 12, drill 4).
 */
export async function followLogs(
  s: ClientSettings,
  app: string,
  params: URLSearchParams,
  f: LogsFormat,
  write: (text: string) => void,
  o: FollowOptions = {},
): Promise<void> {
  const print = printer(f, write);
  await follow(
    s,
    (cursor) => {
      const q = new URLSearchParams(params);
      if (cursor) q.set("cursor", cursor);
      return `/v1/apps/${encodeURIComponent(app)}/stream?${q}`;
    },
    (batch) => batch.forEach(print),
    o,
  );
}
