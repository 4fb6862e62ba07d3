import { readFileSync } from "node:fs";
import { agentSpec } from "@tailrace/agent";
import { dopplerSpec } from "@tailrace/doppler";
import { drainerSpec } from "@tailrace/drainer";
import { UsageError } from "./errors.js";

/** Settings the CLI itself reads, beyond the deployables' own. */
export const cliSettings = ["TAILRACE_API", "TAILRACE_TOKEN", "TAILRACE_CA", "TAILRACE_LOG_LEVEL", "TAILRACE_DEMO"];

/** Every TAILRACE_* variable any command knows; anything else is a typo and is refused. */
export const knownSettings = [
  ...new Set([...Object.keys(agentSpec), ...Object.keys(dopplerSpec), ...Object.keys(drainerSpec), ...cliSettings]),
];

export interface ClientSettings {
  api: string;
  token: string;
  /** Extra CA certificates (PEM) to trust for an https API, besides the system's. */
  ca?: string;
}

export function clientSettings(flags: { api?: string | undefined; token?: string | undefined; ca?: string | undefined }): ClientSettings {
  const api = flags.api ?? process.env.TAILRACE_API ?? "http://127.0.0.1:8080";
  const token = flags.token ?? process.env.TAILRACE_TOKEN;
  if (!token) throw new UsageError("no token: set TAILRACE_TOKEN or pass --token (`tailrace token --tenant T` mints a dev token)");
  try {
    const u = new URL(api);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`TAILRACE_API must be an http(s) URL, not ${JSON.stringify(api)}`);
  }
  const caFile = flags.ca ?? process.env.TAILRACE_CA;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { api: api.replace(/\/+$/, ""), token, ...(ca ? { ca } : {}) };
}
