import { type ChildProcess, spawn } from "node:child_process";
import { tempDir, waitFor } from "@tailrace/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, cli, pidsUnder } from "./helpers.js";

describe("tailrace up", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("up - starts NATS, doppler, agent and demo; `logs demo --recent` shows demo lines; Ctrl-C leaves nothing behind", async () => {
    const dir = await tempDir("tailrace-up-");
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    child = spawn(process.execPath, [CLI, "up", "--port", "0", "--dir", `${dir.path}/state`], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    // Liveness bounds: `up` prints its URL in about 2 s and the demo's first lines are readable soon after; the
    // bounds leave room for a machine whose two cores are busy with other test files.
    const api = await waitFor("the API URL", () => /export TAILRACE_API=(\S+)/.exec(out)?.[1], 60_000).catch((e) => {
      throw new Error(`${e.message}\nstdout:${out}\nstderr:${err}`);
    });
    const token = /export TAILRACE_TOKEN=(\S+)/.exec(out)?.[1] as string;
    expect(out).toMatch(/pnpm exec tailrace logs demo --recent/);

    const recent = await waitFor(
      "demo lines from `logs demo --recent`",
      async () => {
        const r = await cli(["logs", "demo", "--recent"], { TAILRACE_API: api, TAILRACE_TOKEN: token });
        return r.code === 0 && /\[APP\/PROC\/WEB\/0\] (OUT|ERR) demo: /.test(r.stdout) ? r.stdout : undefined;
      },
      60_000,
      500,
    );
    expect(recent).toMatch(/demo: GET \//);

    expect(pidsUnder(dir.path).length).toBeGreaterThan(0); // nats-server runs with its store under the dir
    const exited = new Promise<number | null>((r) => child?.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    await waitFor("no process left under the state dir", () => pidsUnder(dir.path).length === 0, 15_000);
    await dir.remove();
  }, 150_000);
});
