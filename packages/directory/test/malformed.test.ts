import { base32Decode, netstring } from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import {
  type DirectoryEntry,
  isDirectoryError,
  packDirectory,
  parseDirectoryCap,
  pythonFloatRepr,
  pythonJsonDumps,
  unpackDirectory,
} from "../src/index.js";
import { dirnodeCases } from "./vectors.js";

const mixed = dirnodeCases().find((c) => c.name === "mutable-mixed")!;
const WRITEKEY = base32Decode(mixed.writekey_b32!);
const DIRCAP = mixed.dircap!;
const PACKED = Buffer.from(mixed.packed_plaintext_b64, "base64");
const NAMES = Object.keys(mixed.unpacked_as_writer!).sort();
const CHK =
  "URI:CHK:bircf5g5zyuos37zp6mrtfor24:wymlsfnbkhcdxruagriarsiosgkxomzc6dunwzajcscwtonphnyq:2:4:1024";

/** Where each entry sits in the packed form, by name. */
function spans(packed: Uint8Array): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  let offset = 0;
  const text = Buffer.from(packed);
  while (offset < text.length) {
    const colon = text.indexOf(":", offset);
    const length = Number(text.subarray(offset, colon).toString());
    const body = text.subarray(colon + 1, colon + 1 + length);
    const nameColon = body.indexOf(":");
    const nameLength = Number(body.subarray(0, nameColon).toString());
    const name = body.subarray(nameColon + 1, nameColon + 1 + nameLength).toString("utf8");
    out.set(name, { start: offset, end: colon + 1 + length + 1 });
    offset = colon + 1 + length + 1;
  }
  return out;
}

describe("a damaged directory: clear errors naming the directory and the entry, the rest still readable", () => {
  it("a truncated directory lists every whole entry and names the cut", () => {
    for (const cut of [1, 10, 60, 200]) {
      const { entries, problems } = unpackDirectory(
        PACKED.subarray(0, PACKED.length - cut),
        DIRCAP,
        "root/docs",
      );
      expect(entries.map((e) => e.name)).toEqual(NAMES.slice(0, -1));
      expect(problems).toHaveLength(1);
      const error = problems[0]!.error;
      expect(isDirectoryError(error, "TAHOE_ERR_DIRECTORY_MALFORMED")).toBe(true);
      expect(error.message).toContain('directory "root/docs"');
      expect(error.message).toMatch(/remain|truncated/);
    }
  });

  it("a bad MAC is reported for that entry only, and a read-only holder is not affected", () => {
    const where = spans(PACKED).get("notes.sdmf")!;
    const damaged = Buffer.from(PACKED);
    // The MAC is the last 32 bytes of rwcapdata, just before the metadata netstring.
    const meta = Buffer.from(
      JSON.stringify(mixed.unpacked_as_writer!["notes.sdmf"]!.metadata)
        .replace(/,/g, ", ")
        .replace(/:/g, ": "),
    );
    const macEnd = where.end - 1 - netstring(meta).length - 1;
    damaged[macEnd - 5]! ^= 0xff;
    const asWriter = unpackDirectory(damaged, DIRCAP);
    expect(asWriter.entries.map((e) => e.name)).toEqual(NAMES.filter((n) => n !== "notes.sdmf"));
    expect(asWriter.problems).toHaveLength(1);
    expect(asWriter.problems[0]!.name).toBe("notes.sdmf");
    expect(asWriter.problems[0]!.error.message).toContain('entry "notes.sdmf"');
    expect(asWriter.problems[0]!.error.message).toContain("MAC");
    expect(asWriter.problems[0]!.error.message).toContain("URI:DIR2:jlpnxcvtg3ohti5c224dtqsfi4");
    // The damaged entry's bytes are kept: repacking writes them back unchanged.
    expect(
      Buffer.from(packDirectory(asWriter.entries, WRITEKEY, { preserved: asWriter.problems })).equals(
        damaged,
      ),
    ).toBe(true);
    const asReader = unpackDirectory(damaged, mixed.dircap_ro!);
    expect(asReader.problems).toEqual([]);
    expect(asReader.entries.map((e) => e.name)).toEqual(NAMES);
  });

  it("entries whose fields are damaged become problems; their neighbours are listed", () => {
    const good = packDirectory([{ name: "good", readCap: CHK, metadata: {}, kind: "filenode" }], undefined);
    const bad: [string, Buffer, RegExp][] = [
      [
        "three fields",
        netstring(Buffer.concat([netstring("x"), netstring(CHK), netstring("")])),
        /follow|truncated|remain|length/,
      ],
      [
        "bad metadata",
        netstring(Buffer.concat([netstring("meta"), netstring(CHK), netstring(""), netstring("{nope")])),
        /metadata is not JSON/,
      ],
      [
        "metadata list",
        netstring(Buffer.concat([netstring("list"), netstring(CHK), netstring(""), netstring("[]")])),
        /not a JSON object/,
      ],
      [
        "bad chk",
        netstring(
          Buffer.concat([netstring("chk"), netstring("URI:CHK:zzz"), netstring(""), netstring("{}")]),
        ),
        /does not parse/,
      ],
      [
        "write cap as ro",
        netstring(Buffer.concat([netstring("rw-in-ro"), netstring(DIRCAP), netstring(""), netstring("{}")])),
        /write cap is stored as its read-only cap/,
      ],
      [
        "bad utf-8",
        netstring(
          Buffer.concat([
            netstring(Buffer.from([0xff, 0xfe])),
            netstring(CHK),
            netstring(""),
            netstring("{}"),
          ]),
        ),
        /not UTF-8/,
      ],
    ];
    for (const [what, raw, why] of bad) {
      const data = Buffer.concat([raw, good]);
      const { entries, problems } = unpackDirectory(
        data,
        "URI:DIR2-RO:66wois35eautggbo43x35gjszq:g3exm5bx4ctu3iuew3ir633j4dieg4p4fygpvpb33cvll6jqj5ka",
      );
      expect(
        entries.map((e) => e.name),
        what,
      ).toEqual(["good"]);
      expect(problems, what).toHaveLength(1);
      expect(problems[0]!.error.code, what).toBe("TAHOE_ERR_DIRECTORY_MALFORMED");
      expect(problems[0]!.error.message, what).toMatch(why);
      expect(Buffer.from(problems[0]!.raw).equals(raw), what).toBe(true);
    }
  });

  it("an immutable directory with an encrypted write cap, and a name given twice, are problems", () => {
    const rw = netstring(
      Buffer.concat([netstring("x"), netstring(CHK), netstring(Buffer.alloc(48)), netstring("{}")]),
    );
    const good = netstring(Buffer.concat([netstring("y"), netstring(CHK), netstring(""), netstring("{}")]));
    const a = unpackDirectory(Buffer.concat([rw, good]), "URI:DIR2-LIT:");
    expect(a.entries.map((e) => e.name)).toEqual(["y"]);
    expect(a.problems[0]!.error.message).toContain("immutable directory");
    const b = unpackDirectory(Buffer.concat([good, good]), "URI:DIR2-LIT:");
    expect(b.entries.map((e) => e.name)).toEqual(["y"]);
    expect(b.problems[0]!.error.message).toContain("second entry");
  });

  it("a mutable cap in an immutable directory is refused when packing and reported when unpacking", () => {
    const ssk = "URI:SSK-RO:eiy4irl2ob7oa4fssqhzmj4pam:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";
    let thrown: unknown;
    try {
      packDirectory([{ name: "m", readCap: ssk, metadata: {}, kind: "filenode" }], undefined, {
        deepImmutable: true,
      });
    } catch (error) {
      thrown = error;
    }
    expect(isDirectoryError(thrown, "TAHOE_ERR_DIRECTORY_NOT_DEEP_IMMUTABLE")).toBe(true);
    const raw = netstring(Buffer.concat([netstring("m"), netstring(ssk), netstring(""), netstring("{}")]));
    expect(unpackDirectory(raw, "URI:DIR2-LIT:").problems[0]!.error.message).toContain("mutable cap");
  });
});

describe("unknown caps are kept and passed through untouched (unknown.py)", () => {
  const future = "x-tahoe-future-cap:abc123";
  const futureRo = "x-tahoe-future-ro:def456";
  const children: DirectoryEntry[] = [
    { name: "rw-and-ro", writeCap: future, readCap: futureRo, metadata: { k: "v" }, kind: "unknown" },
    { name: "ro-only", readCap: futureRo, metadata: {}, kind: "unknown" },
    { name: "rw-only", writeCap: future, metadata: {}, kind: "unknown" },
    {
      name: "verifier",
      readCap:
        "URI:CHK-Verifier:zbau4co5msli4ry5unaflltl44:paqxqexea6oxj4tnyvxtpsxnyer76wiynoxehvthr5kwo7esjerq:2:4:497",
      metadata: {},
      kind: "unknown",
    },
  ];

  it("in a mutable directory, as writer and as reader", () => {
    const packed = packDirectory(children, WRITEKEY);
    const asWriter = unpackDirectory(packed, DIRCAP);
    expect(asWriter.problems).toEqual([]);
    const byName = new Map(asWriter.entries.map((e) => [e.name, e]));
    expect(byName.get("rw-and-ro")).toMatchObject({
      writeCap: future,
      readCap: `ro.${futureRo}`,
      kind: "unknown",
    });
    expect(byName.get("rw-and-ro")?.mutable).toBeUndefined();
    expect(byName.get("ro-only")).toMatchObject({ readCap: `ro.${futureRo}`, kind: "unknown" });
    expect(byName.get("rw-only")).toMatchObject({ writeCap: future, kind: "unknown" });
    expect(byName.get("rw-only")?.readCap).toBeUndefined();
    expect(byName.get("verifier")?.kind).toBe("unknown");
    // The stored read-only field holds the cap without the ro. mark.
    expect(Buffer.from(packed).includes(Buffer.from(`${futureRo.length}:${futureRo},`))).toBe(true);
    expect(Buffer.from(packDirectory(asWriter.entries, WRITEKEY)).equals(Buffer.from(packed))).toBe(true);
    const asReader = unpackDirectory(packed, mixed.dircap_ro!);
    // An unknown write cap is not visible to a read-only holder: an opaque child with no cap.
    const opaque = asReader.entries.find((e) => e.name === "rw-only")!;
    expect([opaque.kind, opaque.writeCap, opaque.readCap]).toEqual(["unknown", undefined, undefined]);
    expect(asReader.entries.find((e) => e.name === "rw-and-ro")?.writeCap).toBeUndefined();
  });

  it("in an immutable directory only when marked imm., which is stored stripped", () => {
    const imm = [{ name: "later", readCap: `imm.${futureRo}`, metadata: {}, kind: "unknown" as const }];
    const packed = packDirectory(imm, undefined, { deepImmutable: true });
    expect(Buffer.from(packed).includes(Buffer.from(`imm.`))).toBe(false);
    const back = unpackDirectory(packed, "URI:DIR2-LIT:");
    expect(back.entries[0]).toMatchObject({ name: "later", readCap: `imm.${futureRo}`, kind: "unknown" });
    expect(
      Buffer.from(packDirectory(back.entries, undefined, { deepImmutable: true })).equals(
        Buffer.from(packed),
      ),
    ).toBe(true);
    let thrown: unknown;
    try {
      packDirectory([{ name: "x", readCap: futureRo, metadata: {}, kind: "unknown" }], undefined, {
        deepImmutable: true,
      });
    } catch (error) {
      thrown = error;
    }
    expect(isDirectoryError(thrown, "TAHOE_ERR_DIRECTORY_NOT_DEEP_IMMUTABLE")).toBe(true);
  });
});

describe("directory caps", () => {
  it("parses every kind, and refuses what is not one with a coded error naming it", () => {
    const kinds = [
      [
        "URI:DIR2:ad5wtml26s7jjv4gfwlrs2653e:hx7zlqd7fp44i6ky6lfrrwcqxslkg6gd6x7moxt4kxkqvm5d6r5a",
        "DIR2",
        "SDMF",
        true,
      ],
      [
        "URI:DIR2-RO:5zyutd4mf6htoxfildd4ew5ksq:hx7zlqd7fp44i6ky6lfrrwcqxslkg6gd6x7moxt4kxkqvm5d6r5a",
        "DIR2-RO",
        "SDMF",
        false,
      ],
      [
        "URI:DIR2-Verifier:vs6lfxxu3tbzduk2jiz2zcjol4:hx7zlqd7fp44i6ky6lfrrwcqxslkg6gd6x7moxt4kxkqvm5d6r5a",
        "DIR2-Verifier",
        "SDMF",
        false,
      ],
      [
        "URI:DIR2-MDMF:l43byqsidupuz4k4kzskysj4hy:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa",
        "DIR2-MDMF",
        "MDMF",
        true,
      ],
      [
        "URI:DIR2-MDMF-RO:eiy4irl2ob7oa4fssqhzmj4pam:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa",
        "DIR2-MDMF-RO",
        "MDMF",
        false,
      ],
      [
        "URI:DIR2-CHK:n3g563v7fht54ruuji7oig3uje:paqxqexea6oxj4tnyvxtpsxnyer76wiynoxehvthr5kwo7esjerq:2:4:497",
        "DIR2-CHK",
        "CHK",
        false,
      ],
      [
        "URI:DIR2-CHK-Verifier:zbau4co5msli4ry5unaflltl44:paqxqexea6oxj4tnyvxtpsxnyer76wiynoxehvthr5kwo7esjerq:2:4:497",
        "DIR2-CHK-Verifier",
        "CHK",
        false,
      ],
      ["URI:DIR2-LIT:", "DIR2-LIT", "LIT", false],
    ] as const;
    for (const [text, kind, format, writable] of kinds) {
      const cap = parseDirectoryCap(text);
      expect([cap.kind, cap.format, cap.writable, cap.text]).toEqual([kind, format, writable, text]);
    }
    // Old MDMF caps' extra fields are dropped, as Tahoe re-serialises them.
    expect(parseDirectoryCap(`${kinds[3][0]}:3:131073`).text).toBe(kinds[3][0]);
    expect(parseDirectoryCap(`ro.${kinds[1][0]}`).text).toBe(kinds[1][0]);
    for (const bad of [
      "URI:DIR2:short:x",
      "URI:SSK:abc",
      "URI:DIR2-FUTURE:x",
      "",
      "URI:DIR2-CHK:a:b:2:4:x",
    ]) {
      let thrown: unknown;
      try {
        parseDirectoryCap(bad);
      } catch (error) {
        thrown = error;
      }
      expect(isDirectoryError(thrown, "TAHOE_ERR_DIRECTORY_CAP"), bad).toBe(true);
    }
  });
});

describe("metadata as Python's json.dumps writes it", () => {
  it("floats use Python's repr", () => {
    const cases: [number, string][] = [
      [1, "1.0"],
      [0.5, "0.5"],
      [1796602817.2427616, "1796602817.2427616"],
      [1e16, "1e+16"],
      [1.5e-5, "1.5e-05"],
      [0.0001, "0.0001"],
      [123456789012345680, "1.2345678901234568e+17"],
      [-2.5, "-2.5"],
      [0, "0.0"],
    ];
    for (const [value, repr] of cases) expect(pythonFloatRepr(value)).toBe(repr);
  });

  it("metadata JSON cannot hold is refused with a coded error naming the child", () => {
    for (const metadata of [{ n: Number.NaN }, { f: () => 1 }, { n: Number.POSITIVE_INFINITY }]) {
      let thrown: unknown;
      try {
        packDirectory([{ name: "odd", readCap: CHK, metadata, kind: "filenode" }], undefined);
      } catch (error) {
        thrown = error;
      }
      expect(isDirectoryError(thrown, "TAHOE_ERR_DIRECTORY_BAD_CHILD")).toBe(true);
      expect((thrown as Error).message).toContain('"odd"');
    }
  });

  it("link and stat times are floats, other integers stay integers, non-ASCII is escaped", () => {
    expect(
      pythonJsonDumps({
        tahoe: { linkcrtime: 1, linkmotime: 2.5 },
        st_mode: 33188,
        mtime: 3,
        é: ["☕", null, true],
      }),
    ).toBe(
      '{"tahoe": {"linkcrtime": 1.0, "linkmotime": 2.5}, "st_mode": 33188, "mtime": 3.0, "\\u00e9": ["\\u2615", null, true]}',
    );
  });
});
