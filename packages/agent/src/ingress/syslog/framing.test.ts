import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SyslogFramingError } from "./errors.js";
import { DEFAULT_MAX_MESSAGE_BYTES, SyslogFramer, type SyslogFramerOptions } from "./framing.js";

type Run = { messages: string[]; errors: SyslogFramingError[] };

/** Feeds `chunks` to a fresh framer, then ends the stream; messages are latin1 so any byte round-trips. */
function frame(chunks: Array<string | Buffer>, opts?: SyslogFramerOptions, end = true): Run {
  const run: Run = { messages: [], errors: [] };
  const f = new SyslogFramer(
    (m) => run.messages.push(m.toString("latin1")),
    (e) => run.errors.push(e),
    opts,
  );
  for (const c of chunks) f.push(typeof c === "string" ? Buffer.from(c, "latin1") : c);
  if (end) f.end();
  return run;
}

const octet = (msg: string) => `${Buffer.byteLength(msg, "latin1")} ${msg}`;
const A = "<13>1 - h a - - - first";
const B = "<13>Oct 11 22:14:15 h app: second";

/** Every way to cut `s` into two chunks. */
function everySplit(s: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("octet counting", () => {
  it("octet counting - one frame", () => {
    expect(frame([octet(A)])).toEqual({ messages: [A], errors: [] });
  });

  it("octet counting - many frames in one chunk, with LF, CR and NUL in the payload kept", () => {
    const odd = "<13>1 - h a - - - line1\nline2\r\n\0end";
    expect(frame([octet(A) + octet(odd) + octet(B)]).messages).toEqual([A, odd, B]);
  });

  it("octet counting - a frame split at every byte position", () => {
    const stream = octet(A) + octet(B);
    for (const chunks of everySplit(stream)) expect(frame(chunks), JSON.stringify(chunks)).toEqual({ messages: [A, B], errors: [] });
  });

  it("octet counting - a frame pushed one byte at a time", () => {
    const stream = octet(A) + octet(B);
    expect(frame([...stream])).toEqual({ messages: [A, B], errors: [] });
  });

  it("octet counting - a newline after each frame, as some senders add, is ignored", () => {
    expect(frame([`${octet(A)}\n${octet(B)}\r\n\0`])).toEqual({ messages: [A, B], errors: [] });
  });

  it("octet counting - a frame of exactly maxMessageBytes is accepted", () => {
    const msg = `<1>${"x".repeat(DEFAULT_MAX_MESSAGE_BYTES - 3)}`;
    expect(frame([octet(msg)]).messages).toEqual([msg]);
  });
});

describe("non-transparent framing", () => {
  it("non-transparent - LF, CRLF and NUL end a frame", () => {
    expect(frame([`${A}\n${B}\r\n${A}\0${B}\n`])).toEqual({ messages: [A, B, A, B], errors: [] });
  });

  it("non-transparent - a frame split at every byte position, including between CR and LF", () => {
    const stream = `${A}\r\n${B}\n`;
    for (const chunks of everySplit(stream)) expect(frame(chunks), JSON.stringify(chunks)).toEqual({ messages: [A, B], errors: [] });
  });

  it("non-transparent - a CR inside a frame is kept; only the one before LF is dropped", () => {
    expect(frame(["<13>a\rb\r\r\n"]).messages).toEqual(["<13>a\rb\r"]);
    expect(frame(["<13>a\r\0"]).messages).toEqual(["<13>a\r"]);
  });

  it("non-transparent - blank lines between frames are ignored", () => {
    expect(frame([`\n\n${A}\n\r\n\n${B}\n`])).toEqual({ messages: [A, B], errors: [] });
  });

  it("non-transparent - the last frame is delivered at end() without a trailer", () => {
    expect(frame([`${A}\n${B}`])).toEqual({ messages: [A, B], errors: [] });
    expect(frame([`${A}\n${B}`], undefined, false).messages).toEqual([A]);
    expect(frame([`${A}\r`]).messages).toEqual([A]);
  });

  it("non-transparent - a frame of maxMessageBytes is accepted, also with CRLF split before the LF", () => {
    const msg = `<1>${"y".repeat(7)}`;
    expect(frame([`${msg}\n`], { maxMessageBytes: 10 }).messages).toEqual([msg]);
    expect(frame([`${msg}\r`, "\n"], { maxMessageBytes: 10 })).toEqual({ messages: [msg], errors: [] });
  });
});

describe("mixed framing", () => {
  it("mixed - each frame picks its own method", () => {
    const stream = `${octet(A)}${B}\n${octet(B)}${A}\0${octet(A)}`;
    expect(frame([stream])).toEqual({ messages: [A, B, B, A, A], errors: [] });
    for (const chunks of everySplit(stream)) expect(frame(chunks).messages).toEqual([A, B, B, A, A]);
  });
});

describe("framing errors - resync", () => {
  it("resync - MSG-LEN not followed by SP skips to the next LF", () => {
    const run = frame([`12x<13>garbage here\n${octet(A)}`]);
    expect(run.messages).toEqual([A]);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatchObject({ name: "SyslogFramingError", reason: "MSG-LEN 12 not followed by SP", offset: 2 });
  });

  it("resync - MSG-LEN with a leading zero", () => {
    const run = frame([`${octet(A)}012 <13>1 - - - - - -\n${B}\n`]);
    expect(run.messages).toEqual([A, B]);
    expect(run.errors.map((e) => e.reason)).toEqual(["MSG-LEN starts with a zero"]);
    expect(run.errors[0]?.offset).toBe(octet(A).length);
  });

  it("resync - an absurd MSG-LEN is not trusted", () => {
    const run = frame([`99999999999999999999 <13>${"z".repeat(100)}\n${octet(A)}`]);
    expect(run.messages).toEqual([A]);
    expect(run.errors.map((e) => e.reason)).toEqual(["MSG-LEN above 1048576 is not a plausible length"]);
    expect(run.errors[0]?.offset).toBe(6);
  });

  it("resync - an octet-counted payload that does not start with '<' is a misread length", () => {
    const run = frame([`5 hello 5 more\n${octet(A)}`]);
    expect(run.messages).toEqual([A]);
    expect(run.errors.map((e) => e.reason)).toEqual(["octet-counted frame of 5 bytes does not start with '<'"]);
    expect(run.errors[0]?.offset).toBe(2);
  });

  it("resync - a length prefix cut by LF resumes right after that LF", () => {
    expect(frame([`12\n${octet(A)}`]).messages).toEqual([A]);
    expect(frame([`12 \n${octet(A)}`]).messages).toEqual([A]);
    expect(frame([`12 \n${B}\n`]).messages).toEqual([B]);
  });

  it("resync - an unexpected first byte reports once per bad run, not once per byte", () => {
    const run = frame([`hello world, not syslog\n${A}\n  indented\n${B}\n`]);
    expect(run.messages).toEqual([A, B]);
    expect(run.errors.map((e) => e.reason)).toEqual([
      "unexpected byte 0x68 at the start of a frame (want a digit or '<')",
      "unexpected byte 0x20 at the start of a frame (want a digit or '<')",
    ]);
    expect(run.errors[1]?.offset).toBe(`hello world, not syslog\n${A}\n`.length);
  });

  it("resync - a skip that spans chunks", () => {
    const run = frame(["junk", "more junk", "still", "\n", octet(A)]);
    expect(run.messages).toEqual([A]);
    expect(run.errors).toHaveLength(1);
  });

  it("resync - error offsets count from the start of the stream across chunks", () => {
    const run = frame([octet(A), "xx", "7y"]);
    expect(run.errors.map((e) => e.offset)).toEqual([octet(A).length]);
    const later = frame([octet(A), "12", "3x"]);
    expect(later.errors[0]).toMatchObject({ reason: "MSG-LEN 123 not followed by SP", offset: octet(A).length + 3 });
  });

  it("resync - SyslogFramingError says what and where", () => {
    const [e] = frame(["x"]).errors;
    expect(e).toBeInstanceOf(SyslogFramingError);
    expect(e?.message).toBe("unexpected byte 0x78 at the start of a frame (want a digit or '<') at stream byte 0");
  });
});

describe("framing errors - oversize", () => {
  const opts = { maxMessageBytes: 16 };
  const big = `<13>${"b".repeat(30)}`;

  it("oversize - an octet-counted frame is reported and skipped exactly, without needing an LF", () => {
    const small = "<13>ok";
    const run = frame([`${octet(big)}${octet(small)}`], opts);
    expect(run.messages).toEqual([small]);
    expect(run.errors.map((e) => e.reason)).toEqual(["octet-counted frame of 34 bytes exceeds 16; skipped"]);
    expect(run.errors[0]?.offset).toBe(3);
  });

  it("oversize - an octet-counted skip that spans chunks, payload LFs included", () => {
    const withLf = `<13>${"\n".repeat(30)}`;
    const run = frame([...`${octet(withLf)}${octet("<13>ok")}`], opts);
    expect(run.messages).toEqual(["<13>ok"]);
    expect(run.errors).toHaveLength(1);
  });

  it("oversize - a length above maxSkipBytes is garbage, not a frame to skip", () => {
    const run = frame([`${octet(big)}\n${octet("<13>ok")}`], { maxMessageBytes: 16, maxSkipBytes: 20 });
    expect(run.messages).toEqual(["<13>ok"]);
    expect(run.errors.map((e) => e.reason)).toEqual(["MSG-LEN above 20 is not a plausible length"]);
  });

  it("oversize - an LF frame is reported and the rest up to LF dropped", () => {
    const run = frame([`${big}\n<13>ok\n`], opts);
    expect(run.messages).toEqual(["<13>ok"]);
    expect(run.errors.map((e) => e.reason)).toEqual(["LF-framed message exceeds 16 bytes"]);
    expect(run.errors[0]?.offset).toBe(0);
  });

  it("oversize - an LF frame arriving one byte at a time reports once", () => {
    const run = frame([...`${big}${big}\n<13>ok\n`], opts);
    expect(run.messages).toEqual(["<13>ok"]);
    expect(run.errors).toHaveLength(1);
  });

  it("oversize - an LF frame one byte over, ended by LF or NUL", () => {
    const over = `<13>${"c".repeat(13)}`;
    expect(frame([`${over}\n<13>ok\n`], opts)).toMatchObject({
      messages: ["<13>ok"],
      errors: [{ reason: "LF-framed message exceeds 16 bytes" }],
    });
    expect(frame([`${over}\0<13>ok\0`], opts)).toMatchObject({
      messages: ["<13>ok"],
      errors: [{ reason: "LF-framed message exceeds 16 bytes" }],
    });
  });

  it("oversize - an unterminated LF frame at end() is reported", () => {
    const run = frame([`<13>${"c".repeat(13)}`], opts);
    expect(run.messages).toEqual([]);
    expect(run.errors).toHaveLength(1);
  });
});

describe("end", () => {
  it("end - a cut octet-counted frame is an error", () => {
    const run = frame([`${octet(A)}40 <13>short`]);
    expect(run.messages).toEqual([A]);
    expect(run.errors.map((e) => e.reason)).toEqual(["stream ended 31 bytes short of an octet-counted frame of 40"]);
    expect(run.errors[0]?.offset).toBe(octet(A).length + 12);
  });

  it("end - a cut MSG-LEN is an error", () => {
    expect(frame(["12"]).errors.map((e) => e.reason)).toEqual(["stream ended inside MSG-LEN"]);
  });

  it("end - nothing pending, or a skip in progress, is quiet", () => {
    expect(frame([])).toEqual({ messages: [], errors: [] });
    expect(frame([`${A}\n`])).toEqual({ messages: [A], errors: [] });
    expect(frame(["junk"]).errors).toHaveLength(1);
  });

  it("end - an oversize frame being skipped is not reported twice", () => {
    expect(frame(["40 <13>", "xx"], { maxMessageBytes: 16 }).errors).toHaveLength(1);
  });

  it("end - the framer starts clean for the next stream", () => {
    const messages: string[] = [];
    const f = new SyslogFramer(
      (m) => messages.push(m.toString("latin1")),
      () => {},
    );
    f.push(Buffer.from("40 <13>cut"));
    f.end();
    f.push(Buffer.from(octet(A)));
    f.end();
    expect(messages).toEqual([A]);
  });
});

describe("options", () => {
  it("options - rejects a maxMessageBytes that is not a positive integer", () => {
    expect(
      () =>
        new SyslogFramer(
          () => {},
          () => {},
          { maxMessageBytes: 0 },
        ),
    ).toThrow(RangeError);
    expect(
      () =>
        new SyslogFramer(
          () => {},
          () => {},
          { maxMessageBytes: 1.5 },
        ),
    ).toThrow(RangeError);
  });

  it("options - the default limit is 64 KiB + 2 KiB", () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(67584);
    const over = `<1>${"x".repeat(DEFAULT_MAX_MESSAGE_BYTES - 2)}`;
    expect(frame([octet(over)]).errors).toHaveLength(1);
    expect(frame([`${over}\n`]).errors).toHaveLength(1);
  });
});

describe("efficiency", () => {
  it("efficiency - a large frame in 1-byte chunks is joined once, not per chunk", () => {
    const concat = vi.spyOn(Buffer, "concat");
    const msg = `<13>${"q".repeat(20_000)}`;
    const stream = Buffer.from(octet(msg) + msg + "\n");
    const run: string[] = [];
    const f = new SyslogFramer(
      (m) => run.push(m.toString("latin1")),
      () => {},
    );
    for (let i = 0; i < stream.length; i++) f.push(stream.subarray(i, i + 1));
    expect(run).toEqual([msg, msg]);
    expect(concat).toHaveBeenCalledTimes(2);
  });

  it("efficiency - frames inside one chunk are passed on without copying", () => {
    const concat = vi.spyOn(Buffer, "concat");
    const chunk = Buffer.from((octet(A) + `${B}\n`).repeat(5_000));
    const seen: Buffer[] = [];
    new SyslogFramer(
      (m) => seen.push(m),
      () => {},
    ).push(chunk);
    expect(seen).toHaveLength(10_000);
    expect(concat).not.toHaveBeenCalled();
    expect(seen[0]?.buffer).toBe(chunk.buffer);
  });

  it("efficiency - LF and NUL are searched once per chunk, not once per frame", () => {
    const indexOf = vi.spyOn(Buffer.prototype, "indexOf");
    const chunk = Buffer.from(`${B}\n`.repeat(2_000));
    new SyslogFramer(
      () => {},
      () => {},
    ).push(chunk);
    // One LF search per frame, and a single NUL search that finds none.
    expect(indexOf.mock.calls.length).toBeLessThanOrEqual(2_001);
  });
});

// ---- property-based ----------------------------------------------------------------------------------------------

const RUNS = { numRuns: 300 };

type Frame = { payload: Buffer; wire: Buffer };

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** A valid frame in any of the methods the framer accepts; `payload` is what it must deliver. */
const validFrame: fc.Arbitrary<Frame> = fc.oneof(
  bytes(200).map((body) => {
    const payload = Buffer.concat([Buffer.from("<13>"), body]);
    return { payload, wire: Buffer.concat([Buffer.from(`${payload.length} `), payload]) };
  }),
  fc.tuple(bytes(200), fc.constantFrom("\n", "\r\n", "\0")).map(([body, trailer]) => {
    // An LF-framed message cannot hold its terminators, nor end in CR when CRLF is stripped.
    let payload = Buffer.concat([Buffer.from("<13>"), Buffer.from(body.filter((b) => b !== 0x0a && b !== 0x00))]);
    if (trailer !== "\0") while (payload[payload.length - 1] === 0x0d) payload = payload.subarray(0, -1);
    return { payload, wire: Buffer.concat([payload, Buffer.from(trailer)]) };
  }),
);

/** Cuts `b` at the given points (taken modulo its length). */
function splitAt(b: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (b.length === 0 ? 0 : c % (b.length + 1))))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  out.push(b.subarray(prev));
  return out;
}

function collect(chunks: Buffer[]): { messages: Buffer[]; errors: SyslogFramingError[] } {
  const messages: Buffer[] = [];
  const errors: SyslogFramingError[] = [];
  const f = new SyslogFramer(
    (m) => messages.push(Buffer.from(m)),
    (e) => errors.push(e),
  );
  for (const c of chunks) f.push(c);
  f.end();
  return { messages, errors };
}

/**
 * Garbage that cannot pass for the start of a valid octet-counted frame: a `<` right after `digits SP` would be one,
 * and its declared length could then reach past the LF into the next frame, which no framer can tell apart.
 */
const garbage = fc
  .oneof(
    bytes(60),
    fc.array(fc.constantFrom(..."0123456789 <>\r\0xé[]"), { maxLength: 60 }).map((cs) => Buffer.from(cs.join(""), "latin1")),
  )
  .map((g) => {
    const out = Buffer.from(g);
    for (let i = 2; i < out.length; i++) {
      if (out[i] === 0x3c && out[i - 1] === 0x20 && (out[i - 2] as number) >= 0x30 && (out[i - 2] as number) <= 0x39) out[i] = 0x78;
    }
    return out;
  });

describe("property - framing", () => {
  it("property - any split of valid frames yields exactly those messages", () => {
    fc.assert(
      fc.property(fc.array(validFrame, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => f.wire));
        const { messages, errors } = collect(splitAt(stream, cuts));
        expect(errors).toEqual([]);
        expect(messages).toEqual(frames.map((f) => f.payload));
      }),
      RUNS,
    );
  });

  it("property - garbage never crashes and never loses the valid frame after its LF", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(garbage, validFrame), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (pairs, cuts) => {
          const stream = Buffer.concat(pairs.flatMap(([g, f]) => [g, Buffer.from("\n"), f.wire]));
          const { messages } = collect(splitAt(stream, cuts));
          // Garbage may itself hold LF-framed messages; the valid ones must all come through, in order.
          let next = 0;
          for (const m of messages) if (next < pairs.length && m.equals((pairs[next] as [Buffer, Frame])[1].payload)) next++;
          expect(next).toBe(pairs.length);
        },
      ),
      RUNS,
    );
  });

  it("property - random bytes in random chunks only ever report SyslogFramingError", () => {
    fc.assert(
      fc.property(bytes(400), fc.array(fc.nat(), { maxLength: 12 }), (b, cuts) => {
        const { messages, errors } = collect(splitAt(b, cuts));
        for (const e of errors) expect(e).toBeInstanceOf(SyslogFramingError);
        for (const m of messages) expect(m[0]).toBe(0x3c);
      }),
      RUNS,
    );
  });
});
