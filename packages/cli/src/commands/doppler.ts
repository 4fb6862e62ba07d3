import { parseArgs } from "node:util";
import { Doppler, loadDopplerConfig } from "@tailrace/doppler";
import { checkUnknown, createLogger } from "@tailrace/runtime";
import { knownSettings } from "../settings.js";
import { untilSignal } from "../signals.js";

export const dopplerUsage = `tailrace doppler [--port P]
  Runs the doppler: the HTTP/websocket API (recent logs, live tails). Configured from the environment.`;

export async function doppler(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: "string" } } });
  checkUnknown(knownSettings);
  const env = { ...process.env, ...(values.port ? { TAILRACE_DOPPLER_PORT: values.port } : {}) };
  const logger = createLogger({ name: "tailrace-doppler", fd: 1 });
  const d = new Doppler(loadDopplerConfig(env), logger);
  await d.start();
  await untilSignal();
  logger.info("shutting down");
  await d.stop();
  return 0;
}
