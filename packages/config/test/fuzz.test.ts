import { describe, expect, it } from "vitest";
import { type ConfigIssue, type LoadResult, loadTahoeCfgBytes, SCHEMA } from "../src/index.js";

const F = "fuzz/tahoe.cfg";

/** Valid starting points: a public storage node and a hidden onion server. */
const GOOD_FILES = [
  [
    "# -*- mode: conf; coding: utf-8 -*-",
    "",
    "[node]",
    "nickname = alice",
    "web.port = tcp:3456:interface=127.0.0.1",
    "web.static = public_html",
    "tub.port = tcp:3457",
    "tub.location = tcp:alice.example.net:3457",
    "",
    "[connections]",
    "tcp = tcp",
    "",
    "[client]",
    "introducer.furl =",
    "shares.needed = 3",
    "shares.happy = 7",
    "shares.total = 10",
    "",
    "[storage]",
    "enabled = true",
    "reserved_space = 1G",
    "expire.enabled = true",
    "expire.override_lease_duration = 60 days",
    "",
    "[helper]",
    "enabled = false",
    "",
  ].join("\n"),
  [
    "[node]",
    "nickname = hidden",
    "web.port = tcp:3456:interface=127.0.0.1",
    "tub.port = tcp:24321:interface=127.0.0.1",
    "tub.location = tor:a4dqobyha4dqobyha4dqobyha4dqobyha4dqobyha4dqobyha4dwc6ad.onion:3457",
    "reveal-IP-address = false",
    "[connections]",
    "tcp = tor",
    "[tor]",
    "onion = true",
    "onion.local_port = 24321",
    "onion.external_port = 3457",
    "onion.private_key_file = private/tor_onion.privkey",
    "launch = true",
    "",
  ].join("\n"),
];

/** mulberry32: a tiny seeded PRNG, so every run fuzzes the same files. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sample {
  kind: string;
  bytes: Uint8Array;
  /** Known to contain at least one error. */
  bad: boolean;
}

const enc = new TextEncoder();
const WRONG_VALUES = [
  "",
  "maybe",
  "-1",
  "0",
  "99999999999999999999",
  "tcp:",
  "1.5",
  "@@@",
  "None",
  "yes please",
  "tcp:host",
];

interface KeyTarget {
  section: string;
  key: string;
  wrong: string[];
}

/** For each schema key, the candidate values its own schema refuses (keys that take any text have none). */
const KEY_TARGETS: KeyTarget[] = Object.entries(SCHEMA).flatMap(([section, spec]) =>
  Object.values(spec.keys).flatMap((k) => {
    const wrong = WRONG_VALUES.filter(
      (v) => !(v === "" && k.emptyMeansUnset) && !k.value.safeParse(v).success,
    );
    return wrong.length > 0 ? [{ section, key: k.name, wrong }] : [];
  }),
);

function makeSample(i: number): Sample {
  const rnd = prng(0x5eed + i * 7919);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const base = pick(GOOD_FILES);
  const lines = base.split("\n");
  const at = (n: number) => Math.floor(rnd() * n);
  const insertLine = (line: string) => {
    const copy = [...lines];
    copy.splice(at(copy.length), 0, line);
    return copy.join("\n");
  };
  const text = (kind: string, t: string, bad = true): Sample => ({ kind, bytes: enc.encode(t), bad });
  const kinds = [
    "invalid-utf8",
    "nul",
    "cr-only",
    "truncate",
    "bad-header",
    "key-before-section",
    "wrong-value",
    "unknown-key",
    "unknown-section",
    "huge-value",
    "odd-continuation",
    "bom-mid-file",
    "garbage-line",
    "random-bytes",
    "byte-flips",
  ];
  const kind = kinds[i % kinds.length]!;
  switch (kind) {
    case "invalid-utf8": {
      const b = enc.encode(base);
      const pos = at(b.length);
      const bad = [0xff, 0xc3, 0xe2, 0x80, 0xf8][at(5)]!;
      return { kind, bytes: new Uint8Array([...b.subarray(0, pos), bad, ...b.subarray(pos)]), bad: true };
    }
    case "nul": {
      const pos = at(base.length);
      return text(kind, `${base.slice(0, pos)}\u0000${base.slice(pos)}`);
    }
    case "cr-only":
      return text(kind, base.replace(/\n/g, "\r"));
    case "truncate":
      // Cutting a good file may leave a good file: only "never throws" is checked.
      return text(kind, base.slice(0, at(base.length)), false);
    case "bad-header":
      return text(kind, insertLine(pick(["[node", "[", "[]x", "[client", "[[storage"])));
    case "key-before-section":
      return text(kind, `${pick(["nickname = x", "tub.port = 1", "x"])}\n${base}`);
    case "wrong-value": {
      const target = pick(KEY_TARGETS);
      const value = pick(target.wrong);
      return text(kind, `${base}\n[${target.section}]\n${target.key} = ${value}\n`);
    }
    case "unknown-key": {
      const section = pick(Object.keys(SCHEMA));
      return text(kind, `${base}\n[${section}]\nno.such.key${at(1000)} = 1\n`);
    }
    case "unknown-section":
      return text(kind, insertLine(`[${pick(["nodes", "Client", "DEFAULT", "x.y", "storage "])}]`));
    case "huge-value":
      return text(kind, `${base}\n[node]\nnickname = ${"n".repeat(65 * 1024 + at(10_000))}\n`);
    case "odd-continuation": {
      // An indented line right after a header, or before any header, cannot continue a value.
      const header = lines.findIndex((l) => l.startsWith("["));
      const copy = [...lines];
      if (rnd() < 0.5) copy.splice(header + 1, 0, "    stray continuation");
      else copy.unshift("   leading continuation");
      return text(kind, copy.join("\n"));
    }
    case "bom-mid-file": {
      const line = 1 + at(lines.length - 1);
      const copy = [...lines];
      copy[line] = `\uFEFF${copy[line]}`;
      return text(kind, copy.join("\n"));
    }
    case "garbage-line":
      return text(
        kind,
        insertLine(pick(["this is not ini", "}}}", "key without delimiter", "= no key", ": nothing"])),
      );
    case "random-bytes": {
      const n = 1 + at(400);
      const b = new Uint8Array(n);
      for (let j = 0; j < n; j++) b[j] = at(256);
      // Random bytes are nearly always bad, but not provably so.
      return { kind, bytes: b, bad: false };
    }
    default: {
      const b = enc.encode(base);
      for (let j = 0; j < 1 + at(8); j++) b[at(b.length)] = at(256);
      return { kind, bytes: b, bad: false };
    }
  }
}

function lineCount(bytes: Uint8Array): number {
  let n = 1;
  for (const b of bytes) if (b === 0x0a) n++;
  return n;
}

function checkLines(issues: ConfigIssue[], lines: number): void {
  for (const issue of issues) {
    expect(issue.file, JSON.stringify(issue)).toBe(F);
    if (issue.line === undefined) {
      expect(issue.message, "only whole-file problems lack a line").toMatch(/^the file /);
    } else {
      expect(issue.line).toBeGreaterThanOrEqual(1);
      expect(issue.line).toBeLessThanOrEqual(lines);
    }
    expect(issue.message.length).toBeGreaterThan(0);
    expect(issue.message.length, "messages stay printable").toBeLessThan(1000);
  }
}

describe("fuzzing the loader with 300 seeded bad files", () => {
  const samples = Array.from({ length: 300 }, (_, i) => makeSample(i));

  it("starts from files that are good", () => {
    for (const good of GOOD_FILES)
      expect(loadTahoeCfgBytes(enc.encode(good), { file: F }).errors).toEqual([]);
    expect(KEY_TARGETS.length).toBeGreaterThan(40);
  });

  it("never throws, and reports every problem with a line inside the file", () => {
    let bad = 0;
    for (const [i, s] of samples.entries()) {
      let r: LoadResult | undefined;
      expect(() => {
        r = loadTahoeCfgBytes(s.bytes, { file: F });
      }, `sample ${i} (${s.kind})`).not.toThrow();
      const result = r!;
      if (s.bad) {
        bad++;
        expect(result.errors.length, `sample ${i} (${s.kind}) should have errors`).toBeGreaterThan(0);
      }
      expect(result.config === undefined).toBe(result.errors.length > 0);
      const lines = lineCount(s.bytes);
      checkLines(result.errors, lines);
      checkLines(result.warnings, lines);
    }
    expect(bad).toBeGreaterThanOrEqual(200);
  });

  it("points a wrong value at its own line and key", () => {
    for (const target of KEY_TARGETS) {
      for (const value of target.wrong) {
        const cfg = `${GOOD_FILES[0]}\n[${target.section}]\n${target.key} = ${value}\n`;
        const keyLine = cfg.split("\n").length - 1;
        const r = loadTahoeCfgBytes(enc.encode(cfg), { file: F });
        expect(
          r.errors.some((e) => e.line === keyLine && e.section === target.section && e.key === target.key),
          `[${target.section}]${target.key} = ${JSON.stringify(value)}: ${JSON.stringify(r.errors)}`,
        ).toBe(true);
      }
    }
  });
});
