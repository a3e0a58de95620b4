/**
 * Directory benchmark, in one run: a lafs-ts grid (introducer, 4 storage nodes, a client; each
 * `tahoe run`) and a reference Tahoe-LAFS 1.20 grid of the same shape (refpeer's start-grid.sh),
 * k/happy/N = 2/3/4. For an SDMF and an MDMF directory of 1,000 entries (each a real CHK cap,
 * so entries are as long as a user's), through each implementation's own client:
 *   - create it whole: POST /uri?t=mkdir-with-children&format=F (one publish);
 *   - `tahoe ls DIRCAP` and `tahoe ls --json DIRCAP`: the whole CLI process, start-up included;
 *   - GET /uri/DIRCAP?t=json: the listing without the CLI;
 *   - add one entry: PUT /uri/DIRCAP/NAME?t=uri (read, modify, publish the 1,001st entry).
 * Each is run `--runs` times (default 5); the median is printed, with Tahoe time / lafs-ts time.
 * Every listing is checked (1,000 names; each added entry is there). Never pass/fail.
 *
 *   pnpm bench:dir                       (from the repo root; needs `pnpm build` first)
 *   pnpm bench:dir --runs 9 --entries 2000
 *   TAHOE_REF_DIR=...                    (default ~/.cache/lafs-ts/tahoe-ref; without a built
 *                                         reference only the lafs-ts column is measured)
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { startGrid } from "../../tests/support/local-grid.js";
import { findRefPeer, REF_DIR_VARIABLE, startRefGrid, stopRef } from "../../tests/support/refpeer.js";

const STORAGE = ["s1", "s2", "s3", "s4"];
const SHAPE = { k: 2, happy: 3, n: 4 };
const OUR_TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");

function intOption(name: string, fallback: number, min: number): number {
  const at = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  const text = process.argv[at]!.includes("=") ? process.argv[at]!.split("=")[1] : process.argv[at + 1];
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} wants a whole number >= ${min}, got ${text}`);
  return value;
}
const RUNS = intOption("runs", 5, 1);
const ENTRIES = intOption("entries", 1000, 1);
const FORMATS = ["SDMF", "MDMF"] as const;
type Format = (typeof FORMATS)[number];

/** The steps measured, in the order they are printed. */
const STEPS = ["create", "tahoe ls", "tahoe ls --json", "GET ?t=json", "add one entry"] as const;
type Step = (typeof STEPS)[number];
type Medians = Record<Format, Record<Step, number>>;

async function seconds(run: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function call(name: string, method: string, url: string, body?: string): Promise<string> {
  const res = await fetch(url, { method, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`${name}: ${method} ${url.slice(0, 120)} answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${file} ${args.join(" ")}: ${stderr}`)),
    ),
  );
}

interface Client {
  name: string;
  url: string;
  /** `tahoe ARGS` of this implementation, against this client. */
  cli(args: string[]): Promise<string>;
}

/** Every step for both formats through one client; the medians of `RUNS` runs each. */
async function runClient(client: Client): Promise<Medians> {
  const base = client.url.endsWith("/") ? client.url : `${client.url}/`;
  const fileCap = (await call(client.name, "PUT", `${base}uri`, `directory benchmark ${client.name}`)).trim();
  const children: Record<string, unknown> = {};
  for (let i = 0; i < ENTRIES; i++)
    children[`entry-${String(i).padStart(5, "0")}.txt`] = ["filenode", { ro_uri: fileCap }];
  const body = JSON.stringify(children);
  const out = {} as Medians;
  for (const format of FORMATS) {
    console.error(`${client.name}: ${format}, ${ENTRIES} entries, ${RUNS} runs`);
    const times: Record<Step, number[]> = Object.fromEntries(STEPS.map((s) => [s, []])) as never;
    for (let r = 0; r < RUNS; r++) {
      let cap = "";
      times.create.push(
        await seconds(async () => {
          cap = (
            await call(client.name, "POST", `${base}uri?t=mkdir-with-children&format=${format}`, body)
          ).trim();
        }),
      );
      const dirUrl = `${base}uri/${encodeURIComponent(cap)}`;
      times["tahoe ls"].push(
        await seconds(async () => {
          const names = (await client.cli(["ls", cap])).trim().split("\n");
          if (names.length !== ENTRIES)
            throw new Error(`${client.name}: tahoe ls listed ${names.length} names`);
        }),
      );
      times["tahoe ls --json"].push(
        await seconds(async () => {
          const json = JSON.parse(await client.cli(["ls", "--json", cap])) as [string, { children: object }];
          if (Object.keys(json[1].children).length !== ENTRIES)
            throw new Error(`${client.name}: tahoe ls --json has the wrong children`);
        }),
      );
      times["GET ?t=json"].push(
        await seconds(async () => {
          const json = JSON.parse(await call(client.name, "GET", `${dirUrl}?t=json`)) as [
            string,
            { children: object },
          ];
          if (Object.keys(json[1].children).length !== ENTRIES)
            throw new Error(`${client.name}: ?t=json has the wrong children`);
        }),
      );
      times["add one entry"].push(
        await seconds(async () => {
          await call(client.name, "PUT", `${dirUrl}/added-${r}.txt?t=uri`, fileCap);
        }),
      );
      const after = JSON.parse(await call(client.name, "GET", `${dirUrl}?t=json`)) as [
        string,
        { children: object },
      ];
      if (!(`added-${r}.txt` in after[1].children))
        throw new Error(`${client.name}: the added entry is missing`);
    }
    out[format] = Object.fromEntries(STEPS.map((s) => [s, median(times[s])])) as Record<Step, number>;
  }
  return out;
}

function table(ours: Medians, theirs: Medians | undefined): string {
  const lines = [
    `${"".padEnd(24)}${"lafs-ts".padStart(10)}${theirs ? "Tahoe 1.20".padStart(12) : ""}${theirs ? "Tahoe/lafs-ts".padStart(15) : ""}`,
  ];
  for (const format of FORMATS) {
    for (const step of STEPS) {
      const a = ours[format][step];
      const b = theirs?.[format][step];
      lines.push(
        `${`${format} ${step}`.padEnd(24)}${`${a.toFixed(3)} s`.padStart(10)}` +
          (b === undefined ? "" : `${`${b.toFixed(3)} s`.padStart(12)}${(b / a).toFixed(2).padStart(15)}`),
      );
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const refDir = process.env[REF_DIR_VARIABLE] || join(homedir(), ".cache/lafs-ts/tahoe-ref");
  process.env[REF_DIR_VARIABLE] = refDir;
  const peer = existsSync(join(refDir, "env.sh")) ? findRefPeer("the Tahoe column") : undefined;
  console.log(
    `directory benchmark: ${ENTRIES} entries, medians of ${RUNS} runs, ${STORAGE.length} storage nodes, k/happy/N ${SHAPE.k}/${SHAPE.happy}/${SHAPE.n}, 127.0.0.1`,
  );
  const grid = await startGrid({ storage: STORAGE, ...SHAPE });
  let ours: Medians;
  try {
    const dir = grid.dirs.client!;
    ours = await runClient({
      name: "lafs-ts",
      url: grid.nodeUrl,
      cli: (args) => run(process.execPath, [OUR_TAHOE, "-d", dir, ...args]),
    });
  } finally {
    await grid.close();
  }
  let theirs: Medians | undefined;
  if (peer === undefined)
    console.log("Tahoe-LAFS: no reference build at TAHOE_REF_DIR; only lafs-ts was measured.");
  else {
    const root = await mkdtemp(join(tmpdir(), "lafs-bench-dir-"));
    const refGridDir = join(root, "grid");
    try {
      const ref = await startRefGrid(peer, refGridDir, {
        n: STORAGE.length,
        k: SHAPE.k,
        happy: SHAPE.happy,
        total: SHAPE.n,
      });
      const dir = join(refGridDir, "client");
      theirs = await runClient({
        name: "Tahoe-LAFS",
        url: ref.url,
        cli: (args) => run(peer.cli, ["-d", dir, ...args]),
      });
    } finally {
      try {
        await stopRef(peer, refGridDir);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }
  }
  console.log(table(ours, theirs));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
