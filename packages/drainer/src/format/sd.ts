/**
 * RFC 5424 STRUCTURED-DATA pieces (section 6.3): SD-NAMEs and escaped PARAM-VALUEs.
 * https://www.rfc-editor.org/rfc/rfc5424#section-6.3
 */

/** The Cloud Foundry Foundation's IANA enterprise number, which CF uses for its SD-IDs. */
export const CF_ENTERPRISE_ID = 47450;

/**
 * PARAM-VALUE escaping: '"', '\' and ']' get a backslash (section 6.3.3). Cloud Foundry skips this, so a tag value
 * with a quote breaks its messages for strict receivers; we do not.
 */
export function escapeParamValue(v: string): string {
  return /["\\\]]/.test(v) ? v.replace(/["\\\]]/g, "\\$&") : v;
}

/**
 * An SD-NAME is 1 to 32 PRINTUSASCII characters other than '=', SP, ']' and '"'. Tag keys are free-form, so anything
 * else becomes '_' and long keys are cut, rather than losing the message.
 */
export function sdName(key: string): string {
  const clean = key.replace(/[^\x21-\x7e]|[= \]"]/g, "_").slice(0, 32);
  return clean === "" ? "_" : clean;
}

/** `name="value"` with both parts made safe. */
export function sdParam(name: string, value: string): string {
  return `${sdName(name)}="${escapeParamValue(value)}"`;
}

/** `[tags@47450 k="v" ...]` with every tag, sorted by key; undefined when there are none. */
export function tagsElement(tags: Record<string, string>): string | undefined {
  const keys = Object.keys(tags);
  if (keys.length === 0) return undefined;
  // Plain code-unit order, like Go's sort.Strings for the ASCII keys that tags have in practice.
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = `[tags@${CF_ENTERPRISE_ID}`;
  for (const k of keys) out += ` ${sdParam(k, tags[k] as string)}`;
  return `${out}]`;
}
