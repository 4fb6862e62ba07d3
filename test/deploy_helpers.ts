/**
 * What the deployment tests (compose.test.ts, kubernetes.test.ts) check a deployment's files against: the CLI's
 * commands and settings, each deployable's config spec, and the NATS users of deploy/nats/auth.conf.
 */
import { readFileSync } from "node:fs";
import { agentSpec, loadAgentConfig } from "@tailrace/agent";
import { knownSettings } from "@tailrace/cli";
import { dopplerSpec, loadDopplerConfig } from "@tailrace/doppler";
import { drainerSpec, loadDrainerConfig } from "@tailrace/drainer";
import { waitFor } from "@tailrace/testkit";

/** A file of the repository, by its path from the root. */
export const repoFile = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

export const AUTH_CONF = repoFile("deploy/nats/auth.conf");

/** `{ user: NAME, password: $VAR ... }` entries of auth.conf, as user → password variable. */
export const natsUsers = new Map([...AUTH_CONF.matchAll(/\{\s*user:\s*(\w+),\s*password:\s*\$(\w+)/g)].map((m) => [m[1], m[2]]));

/** Every variable a Tailrace process may be given. */
export const SETTINGS: readonly string[] = [...knownSettings, "NATS_URL"];

const SPECS: Record<string, Record<string, object>> = { agent: agentSpec, doppler: dopplerSpec, drainer: drainerSpec };

/** The config spec of a deployable's command (`agent`, `doppler`, `drainer`); empty for the others. */
export const specOf = (command: string | undefined): Record<string, object> => SPECS[command ?? ""] ?? {};

/** The settings of a command's spec that have no default: a deployment must set them. */
export const requiredSettings = (command: string | undefined): string[] =>
  Object.entries(specOf(command))
    .filter(([, s]) => !("default" in s))
    .map(([k]) => k);

/**
 * The configuration a deployable's command starts with from `env`, through its own loader (so a value the code
 * would refuse fails here as it would at start). `--port P` is the doppler's and drainer's flag for their port.
 */
export function loadConfigOf(command: string, args: string[], env: Record<string, string>): Record<string, unknown> {
  const flags = args.slice(1);
  if (flags.length > 0) {
    if (flags.length !== 2 || flags[0] !== "--port" || (command !== "doppler" && command !== "drainer")) {
      throw new Error(`${command} takes no flags but --port (doppler, drainer): ${flags.join(" ")}`);
    }
  }
  const port = flags[1];
  if (command === "agent") return loadAgentConfig(env);
  if (command === "doppler") return loadDopplerConfig({ ...env, ...(port ? { TAILRACE_DOPPLER_PORT: port } : {}) });
  if (command === "drainer") return loadDrainerConfig({ ...env, ...(port ? { TAILRACE_DRAINER_PORT: port } : {}) });
  throw new Error(`${command} is not a deployable`);
}

/** The port a deployable's /healthz and /readyz answer on, from its loaded configuration. */
export function healthPort(command: string, config: Record<string, unknown>): number {
  if (command === "doppler") return config.TAILRACE_DOPPLER_PORT as number;
  if (command === "drainer") return config.TAILRACE_DRAINER_PORT as number;
  const addr = config.TAILRACE_AGENT_HTTP_ADDR as string;
  return Number(addr.slice(addr.lastIndexOf(":") + 1));
}

/**
 * Waits until every nats-server (by monitoring port) sees the same JetStream meta leader in a cluster of all of them.
 * On a timeout the error carries the tail of each server's log (`logs`: name → stderr).
 */
export async function waitForMetaLeader(httpPorts: number[], logs: Map<string, string>, timeoutMs = 45_000): Promise<void> {
  const jsz = async (port: number) => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/jsz`)).json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
    } catch {
      return undefined;
    }
  };
  await waitFor(
    `one JetStream meta leader that all ${httpPorts.length} nodes see`,
    async () => {
      const seen = await Promise.all(httpPorts.map(jsz));
      const leader = seen[0]?.meta_cluster?.leader;
      return !!leader && seen.every((j) => j?.meta_cluster?.leader === leader && j.meta_cluster.cluster_size === httpPorts.length);
    },
    timeoutMs,
    250,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\n${[...logs].map(([k, v]) => `--- ${k}\n${v.slice(-3000)}`).join("\n")}`);
  });
}
