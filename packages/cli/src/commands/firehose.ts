import { parseArgs } from "node:util";
import { type Envelope, toProtoJson } from "@tailrace/envelope";
import { follow } from "../client.js";
import { UsageError } from "../errors.js";
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
  await follow(
    s,
    () => `/v1/firehose/${encodeURIComponent(values.subscription as string)}?${q}`,
    (batch) => batch.forEach(print),
  );
  return 0;
}
