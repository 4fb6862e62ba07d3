import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { apiCall } from "../client.js";
import { UsageError } from "../errors.js";
import { clientSettings } from "../settings.js";

export const drainsUsage = `tailrace drains add APP URL [--drain-ca FILE] [--drain-cert FILE --drain-key FILE] [--tenant T]
tailrace drains list APP [--json] [--tenant T]
tailrace drains rm APP ID [--tenant T]
  Binds the app's logs to a syslog://, syslog-tls://, https:// (Logplex) or otlp+https:// (OTLP/HTTP) drain, lists
  its drains (credentials never shown) or removes one. Query parameters: drain-data=logs|metrics|all,
  disable-metadata=true, and for OTLP header-NAME=VALUE (a request header such as an API key, never shown; quote
  the URL). See docs/DRAINS.md and docs/OTLP.md.
  --drain-ca FILE            PEM CA certificates to trust for this drain, besides the system CAs
  --drain-cert/--drain-key   PEM client certificate and key, for receivers that want mutual TLS
  --ca FILE                  CA to trust for the API itself (TAILRACE_CA)
  Needs a token with scope drains.write (TAILRACE_TOKEN); --api/TAILRACE_API name the doppler.`;

interface PublicDrain {
  id: string;
  url: string;
  created: string;
  tls?: { ca: boolean; client_cert?: string };
}

function readPem(file: string | undefined, flag: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export async function drains(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      tenant: { type: "string" },
      ca: { type: "string" },
      "drain-ca": { type: "string" },
      "drain-cert": { type: "string" },
      "drain-key": { type: "string" },
      api: { type: "string" },
      token: { type: "string" },
    },
  });
  const [verb, app, arg, ...extra] = positionals;
  if (!verb || !app || extra.length > 0) throw new UsageError(`expected a verb and an APP\n${drainsUsage}`);
  const s = clientSettings(values);
  const q = values.tenant ? `?${new URLSearchParams({ tenant: values.tenant })}` : "";
  const base = `/v1/apps/${encodeURIComponent(app)}/drains`;
  switch (verb) {
    case "add": {
      if (!arg) throw new UsageError(`expected a drain URL\n${drainsUsage}`);
      const tls = {
        ca: readPem(values["drain-ca"], "--drain-ca"),
        cert: readPem(values["drain-cert"], "--drain-cert"),
        key: readPem(values["drain-key"], "--drain-key"),
      };
      const given = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
      const d = (await apiCall(s, "POST", `${base}${q}`, {
        url: arg,
        ...(Object.keys(given).length ? { tls: given } : {}),
      })) as PublicDrain;
      process.stdout.write(values.json ? `${JSON.stringify(d)}\n` : `bound drain ${d.id} ${d.url}\n`);
      return 0;
    }
    case "list":
    case "ls": {
      if (arg) throw new UsageError(`list takes only APP\n${drainsUsage}`);
      const { drains: list } = (await apiCall(s, "GET", `${base}${q}`)) as { drains: PublicDrain[] };
      if (values.json) {
        for (const d of list) process.stdout.write(`${JSON.stringify(d)}\n`);
      } else if (list.length === 0) {
        process.stdout.write(`no drains for ${app}\n`);
      } else {
        for (const d of list) process.stdout.write(`${d.id}  ${d.created}  ${d.url}${d.tls?.client_cert ? "  (mTLS)" : ""}\n`);
      }
      return 0;
    }
    case "rm":
    case "remove": {
      if (!arg) throw new UsageError(`expected a drain ID (see tailrace drains list ${app})\n${drainsUsage}`);
      await apiCall(s, "DELETE", `${base}/${encodeURIComponent(arg)}${q}`);
      process.stdout.write(`removed drain ${arg}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}: use add, list or rm\n${drainsUsage}`);
  }
}
