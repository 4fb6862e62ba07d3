import { parseArgs } from "node:util";
import { Drainer, loadDrainerConfig } from "@tailrace/drainer";
import { checkUnknown, createLogger } from "@tailrace/runtime";
import { knownSettings } from "../settings.js";
import { untilSignal } from "../signals.js";

export const drainerUsage = `tailrace drainer [--port P]
  Runs a drainer: delivers every app's drains (syslog, syslog-tls, https, OTLP) from NATS. Run several; they share
  the drains, one writer per drain, and take over from one that dies. Configured from the environment.`;

export async function drainer(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: "string" } } });
  checkUnknown(knownSettings);
  const env = { ...process.env, ...(values.port ? { TAILRACE_DRAINER_PORT: values.port } : {}) };
  const logger = createLogger({ name: "tailrace-drainer", fd: 1 });
  const d = new Drainer(loadDrainerConfig(env), logger);
  await d.start();
  await untilSignal();
  logger.info("shutting down");
  await d.stop();
  return 0;
}
