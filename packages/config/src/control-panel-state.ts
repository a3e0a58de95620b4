import { join } from "node:path";
import { z } from "zod";
import type { ConfigIssue } from "./issues.js";
import { ConfigValueError } from "./issues.js";
import { NODE_FILES, readTextIfPresent, writeFileAtomic } from "./node-dir.js";
import { isServerId } from "./server-list-file.js";

/**
 * BASEDIR/control-panel.json: what the control panel saved outside tahoe.cfg (which the node never
 * rewrites). Absent keys mean "not chosen on the panel", so tahoe.cfg and the defaults still apply.
 */
export interface ControlPanelState {
  version: 1;
  /** The default for servers not yet decided; wins over [client]new-servers. */
  newServersAllowed?: boolean;
  /** Servers the user has seen on the panel: not allowed unless servers-allowed lists them. */
  decided?: string[];
  /** Wins over [client]shares.*. */
  encoding?: { k: number; happy: number; n: number };
}

export const ENCODING_RULE = "1 <= k (shares.needed) <= happy (shares.happy) <= N (shares.total) <= 256";

const share = z.number().int().min(1).max(256);
const STATE = z
  .object({
    version: z.literal(1),
    newServersAllowed: z.boolean().optional(),
    decided: z
      .array(z.string().refine(isServerId, "not a server id (v0- and 52 base32 characters)"))
      .optional(),
    encoding: z
      .object({ k: share, happy: share, n: share })
      .strict()
      .refine((e) => e.k <= e.happy && e.happy <= e.n, { message: `must satisfy ${ENCODING_RULE}` })
      .optional(),
  })
  .strict();

export interface ControlPanelStateResult {
  /** Undefined when the file is absent or has errors (then nothing of it applies). */
  state: ControlPanelState | undefined;
  errors: ConfigIssue[];
}

/** The line of the first `"name"` in the text, to point a key's error at it. */
function lineOfKey(text: string, name: string | number | undefined): number | undefined {
  if (typeof name !== "string") return undefined;
  const at = text.indexOf(`"${name}"`);
  return at < 0 ? undefined : text.slice(0, at).split("\n").length;
}

function jsonErrorLine(text: string, error: Error): number | undefined {
  const line = /line (\d+)/.exec(error.message);
  if (line) return Number(line[1]);
  const position = /position (\d+)/.exec(error.message);
  return position ? text.slice(0, Number(position[1])).split("\n").length : undefined;
}

/** Never throws: JSON and schema mistakes come back as line/key issues naming the file. */
export function parseControlPanelState(text: string, file: string): ControlPanelStateResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      state: undefined,
      errors: [
        {
          file,
          line: jsonErrorLine(text, error as Error),
          message: `not valid JSON: ${(error as Error).message}`,
          allowed: 'a JSON object such as {"version": 1, "newServersAllowed": true}',
        },
      ],
    };
  }
  const parsed = STATE.safeParse(json);
  if (parsed.success) return { state: parsed.data as ControlPanelState, errors: [] };
  const errors = parsed.error.issues.map((issue): ConfigIssue => {
    const key = issue.path.join(".");
    const named = [...issue.path].reverse().find((p) => typeof p === "string");
    return {
      file,
      line: lineOfKey(text, named as string | undefined),
      key: key === "" ? undefined : key,
      message: `${key === "" ? "the file" : key}: ${issue.message}`,
      allowed:
        'keys: version (1), newServersAllowed (true/false), decided (a list of server ids), encoding ({"k", "happy", "n"} with ' +
        `${ENCODING_RULE})`,
    };
  });
  return { state: undefined, errors };
}

export function formatControlPanelState(state: ControlPanelState): string {
  const checked = STATE.safeParse(state);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new ConfigValueError(
      "TAHOE_ERR_CONFIG_CONTROL_PANEL",
      `control-panel.json: ${issue.path.join(".") || "the state"}: ${issue.message}`,
      { hint: ENCODING_RULE },
    );
  }
  return `${JSON.stringify(checked.data, null, 2)}\n`;
}

/** Reads BASEDIR/control-panel.json; absent = `{state: undefined, errors: []}`. Other read errors throw. */
export async function readControlPanelState(basedir: string): Promise<ControlPanelStateResult> {
  const text = await readTextIfPresent(join(basedir, NODE_FILES.controlPanel));
  if (text === undefined) return { state: undefined, errors: [] };
  return parseControlPanelState(text, NODE_FILES.controlPanel);
}

/** Why BASEDIR/control-panel.json may not be saved over: its first error, with the file and line. */
export function brokenControlPanelStateError(
  basedir: string,
  errors: readonly ConfigIssue[],
): ConfigValueError {
  const first = errors[0]!;
  return new ConfigValueError(
    "TAHOE_ERR_CONFIG_CONTROL_PANEL",
    `${join(basedir, NODE_FILES.controlPanel)}${first.line === undefined ? "" : `:${first.line}`}: ${first.message}; not saved, so your edit is not lost`,
    { hint: "Fix the file or remove it, then save again." },
  );
}

/**
 * Writes the state atomically, refusing to replace a file that exists but does not parse: the user's
 * hand edit is theirs to fix or remove (TAHOE_ERR_CONFIG_CONTROL_PANEL).
 */
export async function writeControlPanelState(basedir: string, state: ControlPanelState): Promise<void> {
  const current = await readControlPanelState(basedir);
  if (current.errors.length > 0) throw brokenControlPanelStateError(basedir, current.errors);
  await writeFileAtomic(join(basedir, NODE_FILES.controlPanel), formatControlPanelState(state));
}

/** Throws TAHOE_ERR_CONFIG_ENCODING naming the values and the rule unless 1 <= k <= happy <= N <= 256. */
export function checkEncoding(encoding: { k: number; happy: number; n: number }): void {
  const { k, happy, n } = encoding;
  const whole = [k, happy, n].every((v) => Number.isSafeInteger(v));
  if (whole && 1 <= k && k <= happy && happy <= n && n <= 256) return;
  throw new ConfigValueError(
    "TAHOE_ERR_CONFIG_ENCODING",
    `k = ${k}, happy = ${happy}, N = ${n} break the rule ${ENCODING_RULE}`,
    { hint: "Pick values that satisfy the rule; for example 3, 7, 10 (Tahoe-LAFS's defaults)." },
  );
}
