import { readFileSync } from "node:fs";
import { join } from "node:path";

/** ../shared/vectors, from the worktree root. */
export const VECTORS = join(import.meta.dirname, "../../../../shared/vectors");

export interface RecordedMessage {
  offset: number;
  length: number;
  listing: string[];
  value: unknown;
}

export interface RecordedDirection {
  scenario: string;
  conn: string;
  dir: "c2s" | "s2c";
  stream: Buffer;
  bananaOffset: number;
  negotiationBlocks: { offset: number; text: string }[];
  messages: RecordedMessage[];
}

export interface RecordedConnection {
  scenario: string;
  conn: string;
  clientTubId: string;
  serverTubId: string;
}

interface Line {
  scenario: string;
  type: string;
  conn?: string;
  dir?: "c2s" | "s2c";
  b64?: string;
  [key: string]: unknown;
}

function lines(): Line[] {
  return readFileSync(join(VECTORS, "foolscap-introducer-transcript.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line);
}

/** Every direction of every recorded connection: its whole byte stream and its decoding. */
export function recordedDirections(): RecordedDirection[] {
  const all = lines();
  const streams = new Map<string, Buffer[]>();
  for (const l of all) {
    if (l.type !== "chunk") continue;
    const key = `${l.scenario}|${l.conn}|${l.dir}`;
    const parts = streams.get(key) ?? [];
    parts.push(Buffer.from(l.b64!, "base64"));
    streams.set(key, parts);
  }
  return all
    .filter((l) => l.type === "decoded")
    .map((l) => ({
      scenario: l.scenario,
      conn: l.conn!,
      dir: l.dir!,
      stream: Buffer.concat(streams.get(`${l.scenario}|${l.conn}|${l.dir}`)!),
      bananaOffset: l.banana_offset as number,
      negotiationBlocks: l.negotiation_blocks as { offset: number; text: string }[],
      messages: l.messages as RecordedMessage[],
    }));
}

export function recordedConnections(): RecordedConnection[] {
  return lines()
    .filter((l) => l.type === "conn")
    .map((l) => ({
      scenario: l.scenario,
      conn: l.conn!,
      clientTubId: l.client_tubid as string,
      serverTubId: l.server_tubid as string,
    }));
}

export interface RecordedNode {
  tub_id: string;
  tub_cert_pem: string;
  tub_cert_der_b64: string;
  node_pubkey: string;
  announcement_key: string;
  introducer_furl?: string;
  storage_furl?: string;
}

export function recordedNodes(): Record<string, RecordedNode> {
  const file = JSON.parse(readFileSync(join(VECTORS, "foolscap-introducer-nodes.json"), "utf8")) as {
    nodes: Record<string, RecordedNode>;
  };
  return file.nodes;
}
