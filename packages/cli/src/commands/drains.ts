import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ApiError, UsageError } from "../errors.js";
import { type ClientSettings, clientSettings } from "../settings.js";

export const drainsUsage = `tailrace drains add APP URL [--ca FILE] [--cert FILE --key FILE] [--tenant T]
tailrace drains list APP [--json] [--tenant T]
tailrace drains rm APP ID [--tenant T]
  Binds the app's logs to a syslog://, syslog-tls:// or https:// (Logplex) drain, lists its drains (credentials
  never shown) or removes one. Query parameters: drain-data=logs|metrics|all, disable-metadata=true.
  --ca FILE       PEM CA certificates to trust for this drain, besides the system CAs
  --cert/--key    PEM client certificate and key, for receivers that want mutual TLS
  Needs a token with scope drains.write (TAILRACE_TOKEN); --api/TAILRACE_API name the doppler.`;

interface PublicDrain {
  id: string;
  url: string;
  created: string;
  tls?: { ca: boolean; client_cert?: string };
}

async function call(s: ClientSettings, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${s.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${s.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach ${s.api}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {}
    throw new ApiError(res.status, `${res.status} ${res.statusText}: ${msg.trim()}`);
  }
  return text ? JSON.parse(text) : undefined;
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
      cert: { type: "string" },
      key: { type: "string" },
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
      const tls = { ca: readPem(values.ca, "--ca"), cert: readPem(values.cert, "--cert"), key: readPem(values.key, "--key") };
      const given = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
      const d = (await call(s, "POST", `${base}${q}`, { url: arg, ...(Object.keys(given).length ? { tls: given } : {}) })) as PublicDrain;
      process.stdout.write(values.json ? `${JSON.stringify(d)}\n` : `bound drain ${d.id} ${d.url}\n`);
      return 0;
    }
    case "list":
    case "ls": {
      if (arg) throw new UsageError(`list takes only APP\n${drainsUsage}`);
      const { drains: list } = (await call(s, "GET", `${base}${q}`)) as { drains: PublicDrain[] };
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
      await call(s, "DELETE", `${base}/${encodeURIComponent(arg)}${q}`);
      process.stdout.write(`removed drain ${arg}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown verb ${JSON.stringify(verb)}: use add, list or rm\n${drainsUsage}`);
  }
}
