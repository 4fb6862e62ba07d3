#!/usr/bin/env node
import { ListenError } from "@tailrace/doppler";
import { InvalidEnvelopeError, InvalidNameError } from "@tailrace/envelope";
import { ConfigError } from "@tailrace/runtime";
import { COMMANDS } from "./commands/index.js";
import { ApiError, UsageError } from "./errors.js";

function help(): string {
  return `tailrace: a multi-tenant log and metrics firehose on NATS\n\n${Object.values(COMMANDS)
    .map((c) => c.usage)
    .join("\n\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)}; try: ${Object.keys(COMMANDS).join(", ")}`);
  if (rest.includes("--help") && !rest.includes("--")) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  return cmd.fn(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    const usage =
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof InvalidNameError ||
      err instanceof InvalidEnvelopeError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`tailrace: ${err.message}\n`);
    if (!(usage || err instanceof ApiError || err instanceof ListenError)) process.stderr.write(`${err.stack ?? ""}\n`);
    process.exit(usage ? 2 : 1);
  },
);
