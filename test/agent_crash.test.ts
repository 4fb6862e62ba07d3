import { type ChildProcess, spawn } from "node:child_process";
import type { Envelope } from "@tailrace/envelope";
import { fromProtoJson } from "@tailrace/envelope";
import { containerId, DockerContainer, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, openTails } from "./agent_helpers.js";
import { CLI, type Stack, startStack, type TailClient } from "./helpers.js";

const CONTAINERS = 5;
const PER_CONTAINER = 20_000;
const CHUNK = 64 * 1024;

/** `tailrace agent` as its own process, as it runs on a host, with fast polling and a small read chunk. */
function spawnAgent(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [CLI, "agent"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TAILRACE_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return child;
}

const line = (c: number, i: number) => `crash${c} line ${i} ${"p".repeat(i % 40)}`;

/** Reads one app's whole recent store from the doppler, paging forward by timestamp. */
async function readAll(api: string, app: string, token: string): Promise<Envelope[]> {
  const out: Envelope[] = [];
  let start = 0n;
  for (;;) {
    const res = await fetch(`${api}/api/v1/read/${app}?envelope_types=LOG&limit=1000&start_time=${start}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { envelopes: { batch: unknown[] } };
    const page = body.envelopes.batch.map((v) => fromProtoJson(v));
    out.push(...page);
    if (page.length < 1000) return out;
    start = (page[page.length - 1] as Envelope).timestamp + 1n;
  }
}

describe("agent crash", () => {
  let stack: Stack;
  let docker: TempDir;
  let state: TempDir;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    // 200 batches per app: the recent store must keep every batch of the 20,000 lines for the read-back below.
    stack = await startStack({ TAILRACE_RECENT_PER_APP: "5000" });
    docker = await tempDir("tailrace-docker-");
    state = await tempDir("tailrace-state-");
  });
  afterAll(async () => {
    child?.kill("SIGKILL");
    await stack?.stop();
    await docker?.remove();
    await state?.remove();
  });

  it("crash - kill -9 mid-way and restart: every line of 100,000 arrives, repeats stay within one read chunk per file", async () => {
    const token = await testToken({ tenant: "acme" });
    const apps = Array.from({ length: CONTAINERS }, (_, c) => `crash${c}`);
    const tails = await openTails(stack, apps, token);
    const containers = apps.map(
      (app, c) => new DockerContainer(docker.path, containerId(1000 + c), { "tailrace.tenant": "acme", "tailrace.app": app }),
    );
    const env = {
      NATS_URL: stack.nats.url,
      TAILRACE_DOCKER_DIR: docker.path,
      TAILRACE_CRI_DIR: `${docker.path}/no-cri`,
      TAILRACE_STATE_DIR: state.path,
      TAILRACE_AGENT_HTTP_ADDR: "127.0.0.1:0",
      TAILRACE_INGRESS_ADDR: "off",
      TAILRACE_SCAN_INTERVAL: "100ms",
      TAILRACE_FILE_POLL: "20ms",
      TAILRACE_READ_CHUNK: String(CHUNK),
    };
    let next = 0;
    const writeUpTo = async (n: number, step = 500) => {
      for (; next < n; next += step) {
        for (const [c, k] of containers.entries()) k.write(Array.from({ length: step }, (_, j) => line(c, next + j)));
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const received = () => [...tails.values()].reduce((n, t) => n + t.envelopes.length, 0);

    child = spawnAgent(env);
    await writeUpTo(8000, 4000);
    // Kill it while it is busy: some of the lines are published, some not yet.
    await waitFor("the agent to be part-way", () => received() > 2000, 20_000, 1);
    child.kill("SIGKILL");
    await new Promise((r) => child?.once("exit", r));
    const atKill = received();
    await writeUpTo(14_000);
    child = spawnAgent(env);
    await writeUpTo(PER_CONTAINER);
    await waitFor(
      "every line",
      () => [...tails.values()].every((t, c) => new Set(lines(t.envelopes)).size === PER_CONTAINER && c >= 0),
      40_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGTERM");
    await new Promise((r) => child?.once("exit", r));

    // At most one read chunk per file repeats: the chunk in flight at the kill. Lines here are ≥ 60 bytes of JSON.
    const bound = Math.ceil(CHUNK / 60);
    let duplicates = 0;
    for (const [c, app] of apps.entries()) {
      const got = lines((tails.get(app) as TailClient).envelopes);
      const want = Array.from({ length: PER_CONTAINER }, (_, i) => line(c, i));
      expect(new Set(got)).toEqual(new Set(want));
      const dups = got.length - PER_CONTAINER;
      expect(dups, `${app} repeated ${dups} lines`).toBeLessThanOrEqual(bound);
      duplicates += dups;
      // In order, apart from the one repeated run.
      expect([...new Set(got)]).toEqual(want);
    }
    expect(atKill).toBeLessThan(CONTAINERS * PER_CONTAINER);
    console.log(`crash test: ${atKill} envelopes on tails at the kill, ${duplicates} repeated lines (bound ${bound} per file)`);

    // The doppler's recent store holds every line too. (Paging by timestamp folds a repeat that sits on a page
    // boundary into one, so only the distinct lines are compared.)
    const stored = lines(await readAll(stack.api, "crash0", token));
    expect([...new Set(stored)]).toEqual(Array.from({ length: PER_CONTAINER }, (_, i) => line(0, i)));
    expect(stored.length).toBeLessThanOrEqual(lines((tails.get("crash0") as TailClient).envelopes).length);
    for (const t of tails.values()) t.close();
  }, 90_000);
});
