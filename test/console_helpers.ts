/** Shared pieces of the console's browser tests: a stack whose doppler logs to a file, and the page's own probes. */
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Doppler, loadDopplerConfig } from "@tailrace/doppler";
import { createLogger } from "@tailrace/runtime";
import { startNatsServer, TEST_JWT_SECRET, tempDir } from "@tailrace/testkit";
import { type ConsoleFront, startConsoleFront } from "@tailrace/testkit/browser";
import type { Page } from "playwright-core";
import type { Stack } from "./helpers.js";

export const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

export interface ConsoleStack extends Stack {
  front: ConsoleFront;
  /** Everything the doppler logged (pino JSON, debug level). */
  logs(): string;
}

/**
 * A real nats-server, a doppler in this process logging at debug level to a file, and the console front before it.
 * The front stands in for the doppler's own `/` until the doppler serves the console itself.
 */
export async function startConsoleStack(extra: Record<string, string> = {}): Promise<ConsoleStack> {
  const nats = await startNatsServer();
  const dir = await tempDir("tailrace-console-");
  const logFile = join(dir.path, "doppler.log");
  const env = {
    NATS_URL: nats.url,
    TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
    TAILRACE_DOPPLER_PORT: "0",
    TAILRACE_DOPPLER_HOST: "127.0.0.1",
    TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8",
    ...extra,
  };
  const doppler = new Doppler(loadDopplerConfig(env), createLogger({ name: "test-doppler", level: "debug", fd: openSync(logFile, "a") }));
  await doppler.start();
  const api = `http://127.0.0.1:${doppler.port}`;
  const front = await startConsoleFront(api);
  return {
    nats,
    doppler,
    api,
    front,
    env: { ...env, TAILRACE_API: api },
    logs: () => readFileSync(logFile, "utf8"),
    async stop() {
      await front.close();
      await doppler.stop();
      await nats.stop();
      await dir.remove();
    },
  };
}

/** The text of the log rows on screen. */
export function rows(page: Page, selector = "#log .l"): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ""));
}

/** Numbers N of rows whose message is `${word} N`, in screen order. */
export function numbered(lines: string[], word: string): number[] {
  const re = new RegExp(` ${word} (\\d+)$`);
  return lines.flatMap((l) => {
    const m = re.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

/** Fails with the offending values unless `ns` is consecutive integers. */
export function gaps(ns: number[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < ns.length; i++) if (ns[i] !== (ns[i - 1] as number) + 1) out.push(`${ns[i - 1]}→${ns[i]}`);
  return out;
}
