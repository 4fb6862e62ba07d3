import { spawn } from "node:child_process";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, extraDoppler, type Stack, startStack, testPublisher } from "./helpers.js";

describe("tailrace logs --follow", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it("follow - a doppler restart shows no gap and no duplicate in the CLI", async () => {
    const token = await testToken({ tenant: "acme" });
    const first = await extraDoppler(stack.nats.url);
    const port = first.doppler.port;
    const child = spawn(process.execPath, [CLI, "logs", "follow-app", "--follow"], {
      env: { PATH: process.env.PATH, TAILRACE_API: first.api, TAILRACE_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const lines = () => out.split("\n").filter(Boolean);
    await waitFor("the CLI's tail", async () =>
      /tailrace_tails_open\{component="doppler",kind="tail"\} 1/.test(await (await fetch(`${first.api}/metrics`)).text()),
    );

    const pub = await testPublisher(stack.nats.url);
    await pub.lines("acme", "follow-app", 0, 1000, 2000);
    await waitFor("the first half", () => lines().length >= 1000);
    await first.doppler.stop();
    // Lines keep coming while no doppler runs; the CLI must pick them up from its cursor.
    await pub.lines("acme", "follow-app", 1000, 1500, 2000);
    const second = await extraDoppler(stack.nats.url, { TAILRACE_DOPPLER_PORT: String(port) });
    await pub.lines("acme", "follow-app", 1500, 2000, 2000);
    await waitFor("every line", () => lines().length >= 2000, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
    await second.doppler.stop();
    await pub.stop();

    const printed = lines().map((l) => /\] OUT (\d+)$/.exec(l)?.[1]);
    expect(printed).toEqual(Array.from({ length: 2000 }, (_, i) => String(i)));
    expect(err).toMatch(/reconnecting/);
  });
});
