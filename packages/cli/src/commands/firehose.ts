import { parseArgs } from "node:util";
import { type Envelope, toProtoJson } from "@tailrace/envelope";
import { openStream } from "../client.js";
import { ApiError, UsageError } from "../errors.js";
import { cfLines } from "../format.js";
import { clientSettings } from "../settings.js";

export const firehoseUsage = `tailrace firehose --subscription ID [--json] [--raw] [--envelope-type T]... [--source-type S]
  Prints every tenant's envelopes (needs a token with scope logs.admin). Consumers that share a subscription id
  share the stream between them.`;

export async function firehose(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      subscription: { type: "string" },
      json: { type: "boolean" },
      raw: { type: "boolean" },
      "envelope-type": { type: "string", multiple: true },
      "source-type": { type: "string" },
      api: { type: "string" },
      token: { type: "string" },
      ca: { type: "string" },
    },
  });
  if (!values.subscription) throw new UsageError(`--subscription is required\n${firehoseUsage}`);
  const s = clientSettings(values);
  const q = new URLSearchParams();
  for (const t of values["envelope-type"] ?? []) q.append("envelope_types", t);
  if (values["source-type"]) q.set("source_type", values["source-type"]);
  const print = (e: Envelope) => {
    const line = values.json ? toProtoJson(e) : `${e.tags.tenant ?? "?"}/${e.sourceId} ${cfLines(e, values.raw).join("\n")}`;
    process.stdout.write(`${line}\n`);
  };
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  let delay = 250;
  while (!controller.signal.aborted) {
    try {
      await openStream(
        s,
        `/v1/firehose/${encodeURIComponent(values.subscription)}?${q}`,
        { onBatch: (b) => b.forEach(print), onOpen: () => (delay = 250) },
        controller.signal,
      );
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (controller.signal.aborted) break;
      process.stderr.write(`tailrace: ${(err as Error).message}; reconnecting in ${delay} ms\n`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
  return 0;
}
