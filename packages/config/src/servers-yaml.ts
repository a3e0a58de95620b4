import { isMap, isScalar, isSeq, type Node } from "yaml";
import { parseFurl } from "./furl.js";
import { dumpYaml, keyText, readYaml, toPlain } from "./introducers-yaml.js";
import type { ConfigIssue } from "./issues.js";
import { ConfigValueError } from "./issues.js";
import { parseNurl } from "./nurl.js";
import { isServerId } from "./server-list-file.js";

export type TcpHandlerChoice = "tcp" | "tor" | "disabled";

/** One server from private/servers.yaml: its announcement, given locally instead of by an introducer. */
export interface StaticServer {
  serverId: string;
  line?: number;
  nickname?: string;
  storageFurl?: string;
  storageNurls: string[];
  permutationSeedBase32?: string;
  /** Every announcement key as written, the ones above included. */
  announcement: Record<string, unknown>;
  connections?: { tcp: TcpHandlerChoice };
}

export interface ServersYamlResult {
  servers: StaticServer[];
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

const FORM =
  "servers.yaml is 'storage:' followed by 'SERVERID:' entries, each with 'ann:' (the announcement: nickname, " +
  "anonymous-storage-FURL, anonymous-storage-NURLs, permutation-seed-base32) and optionally 'connections: {tcp: tcp|tor|disabled}'";

const KNOWN_ANN = [
  "nickname",
  "anonymous-storage-FURL",
  "anonymous-storage-NURLs",
  "permutation-seed-base32",
];
const HANDLERS: readonly string[] = ["tcp", "tor", "disabled"];

function isNullNode(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/**
 * Parses private/servers.yaml. Never throws on the file's content. A server with an error is left
 * out (the error names it and its line); a server Tahoe-LAFS would treat differently gets a warning.
 */
export function parseServersYaml(text: string, file: string): ServersYamlResult {
  const { doc, lineOf, syntaxErrors } = readYaml(text, file);
  const errors: ConfigIssue[] = [...syntaxErrors];
  const warnings: ConfigIssue[] = [];
  const servers: StaticServer[] = [];
  if (syntaxErrors.length > 0) return { servers, errors, warnings };
  const root = doc.contents;
  if (isNullNode(root)) return { servers, errors, warnings };
  if (!isMap(root)) {
    errors.push({ file, line: lineOf(root), message: "the file is not a mapping", allowed: FORM });
    return { servers, errors, warnings };
  }
  let storage: unknown;
  for (const pair of root.items) {
    const key = keyText(pair.key);
    if (key === "storage") storage = pair.value;
    else {
      warnings.push({
        file,
        line: lineOf(pair.key as Node),
        message: `unknown key '${key}' at the top level is ignored`,
        allowed: "only 'storage' is read",
      });
    }
  }
  if (isNullNode(storage)) return { servers, errors, warnings };
  if (!isMap(storage)) {
    errors.push({
      file,
      line: lineOf(storage as Node),
      message: "'storage' is not a mapping",
      allowed: FORM,
    });
    return { servers, errors, warnings };
  }
  const seen = new Map<string, number | undefined>();
  for (const pair of storage.items) {
    const serverId = keyText(pair.key);
    const line = lineOf(pair.key as Node);
    if (serverId === undefined || serverId === "") {
      errors.push({ file, line, message: "a server entry has no server id", allowed: FORM });
      continue;
    }
    if (seen.has(serverId)) {
      errors.push({
        file,
        line,
        message: `server '${serverId}' is defined again (first on line ${seen.get(serverId)})`,
        allowed: "define each server once",
      });
      continue;
    }
    seen.set(serverId, line);
    if (!isServerId(serverId)) {
      warnings.push({
        file,
        line,
        message: `server id '${serverId}' does not look like a Tahoe-LAFS node id`,
        allowed: "a node id is v0- followed by 52 base32 characters; copy it from the server's announcement",
      });
    }
    const server = parseServerEntry(serverId, pair.value, line, file, lineOf, errors, warnings);
    if (server) servers.push(server);
  }
  return { servers, errors, warnings };
}

function parseServerEntry(
  serverId: string,
  entry: unknown,
  line: number | undefined,
  file: string,
  lineOf: (node: Node | null | undefined) => number | undefined,
  errors: ConfigIssue[],
  warnings: ConfigIssue[],
): StaticServer | undefined {
  const errorCount = errors.length;
  const fail = (node: unknown, message: string, allowed?: string) =>
    errors.push({
      file,
      line: lineOf(node as Node) ?? line,
      message: `server '${serverId}': ${message}`,
      allowed,
    });
  if (!isMap(entry)) {
    fail(entry, "the entry is not a mapping with 'ann'", FORM);
    return undefined;
  }
  let ann: unknown;
  let connections: unknown;
  let connectionsKey: unknown;
  for (const pair of entry.items) {
    const key = keyText(pair.key);
    if (key === "ann") ann = pair.value;
    else if (key === "connections") {
      connections = pair.value;
      connectionsKey = pair.key;
    } else {
      warnings.push({
        file,
        line: lineOf(pair.key as Node),
        message: `server '${serverId}': unknown key '${key}' is ignored`,
        allowed: "a server entry has 'ann' and 'connections'",
      });
    }
  }
  if (!isMap(ann)) {
    fail(ann, ann === undefined ? "the entry has no 'ann' (announcement)" : "'ann' is not a mapping", FORM);
    return undefined;
  }
  const server: StaticServer = {
    serverId,
    storageNurls: [],
    announcement: toPlain(ann) as Record<string, unknown>,
  };
  if (line !== undefined) server.line = line;
  let sawFurl = false;
  for (const pair of ann.items) {
    const key = keyText(pair.key);
    const value = pair.value;
    if (key === "nickname") {
      // YAML 1.1 reads `nickname: yes` or `nickname: 42` as non-strings; the text is what was meant.
      if (isScalar(value) && value.value !== null && typeof value.value !== "object") {
        server.nickname =
          typeof value.value === "string" ? value.value : (value.source ?? String(value.value));
      } else fail(value ?? pair.key, "nickname is not a string");
    } else if (key === "anonymous-storage-FURL") {
      sawFurl = true;
      if (!isScalar(value) || typeof value.value !== "string") {
        fail(value ?? pair.key, "anonymous-storage-FURL is not a string", "pb://TUBID@HINTS/SWISSNUM");
        continue;
      }
      try {
        parseFurl(value.value);
        server.storageFurl = value.value.trim();
      } catch (err) {
        const e = err as ConfigValueError;
        fail(value, `anonymous-storage-FURL: ${e.message}`, e.hint);
      }
    } else if (key === "anonymous-storage-NURLs") {
      if (!isSeq(value)) {
        fail(
          value ?? pair.key,
          "anonymous-storage-NURLs is not a list",
          "a list of NURLs, one '- pb://...#v=1' per line",
        );
        continue;
      }
      for (const item of value.items) {
        if (!isScalar(item) || typeof item.value !== "string") {
          fail(
            item,
            "an entry of anonymous-storage-NURLs is not a string",
            "pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1",
          );
          continue;
        }
        try {
          parseNurl(item.value);
          server.storageNurls.push(item.value.trim());
        } catch (err) {
          const e = err as ConfigValueError;
          fail(item, `anonymous-storage-NURLs: ${e.message}`, e.hint);
        }
      }
    } else if (key === "permutation-seed-base32") {
      if (!isScalar(value) || typeof value.value !== "string" || !/^[a-z2-7]+$/.test(value.value)) {
        fail(
          value ?? pair.key,
          `permutation-seed-base32 '${isScalar(value) ? String(value.value) : ""}' is not base32`,
          "copy the value from the server's announcement: lower-case base32 (a-z, 2-7)",
        );
      } else server.permutationSeedBase32 = value.value;
    }
  }
  if (!sawFurl) {
    warnings.push({
      file,
      line,
      message:
        `server '${serverId}' has no anonymous-storage-FURL: Tahoe-LAFS ignores such an entry, ` +
        "and lease secrets cannot be derived without its tub id",
      allowed: "copy anonymous-storage-FURL from the server's announcement",
    });
  }
  if (server.storageNurls.length === 0 && errors.length === errorCount) {
    warnings.push({
      file,
      line,
      message: `server '${serverId}' has no anonymous-storage-NURLs: this node speaks only the HTTP storage protocol and cannot use it`,
      allowed: "copy anonymous-storage-NURLs from the server's announcement",
    });
  }
  if (connections !== undefined) {
    const choice = parseConnections(connections, connectionsKey, (node, message, allowed) =>
      fail(node, message, allowed),
    );
    if (choice) server.connections = choice;
  }
  return errors.length === errorCount ? server : undefined;
}

function parseConnections(
  node: unknown,
  keyNode: unknown,
  fail: (node: unknown, message: string, allowed?: string) => void,
): { tcp: TcpHandlerChoice } | undefined {
  const allowed = "connections: {tcp: tcp|tor|disabled}";
  if (!isMap(node)) {
    fail(node ?? keyNode, "'connections' is not a mapping", allowed);
    return undefined;
  }
  let tcp: TcpHandlerChoice | undefined;
  for (const pair of node.items) {
    const key = keyText(pair.key);
    if (key !== "tcp") {
      fail(pair.key, `connections has unknown key '${key}'`, "only 'tcp' can be overridden per server");
      continue;
    }
    const value = pair.value;
    const text = isScalar(value) ? (value.source ?? String(value.value)) : undefined;
    if (text === undefined || !HANDLERS.includes(text)) {
      fail(value ?? pair.key, `connections.tcp '${text ?? ""}' is not tcp, tor or disabled`, allowed);
      continue;
    }
    tcp = text as TcpHandlerChoice;
  }
  if (tcp === undefined) {
    fail(node, "'connections' does not set 'tcp'", allowed);
    return undefined;
  }
  return { tcp };
}

/**
 * Writes private/servers.yaml. The typed fields win over the same keys in `announcement`; other
 * announcement keys follow them unchanged. Throws ConfigValueError for an invalid FURL or NURL,
 * so the file written always reads back.
 */
export function formatServersYaml(servers: readonly StaticServer[]): string {
  const storage = new Map<string, unknown>();
  for (const s of servers) {
    if (storage.has(s.serverId)) {
      throw new ConfigValueError("TAHOE_ERR_CONFIG_SERVER_ID", `server '${s.serverId}' is given twice`, {
        hint: "define each server once",
      });
    }
    if (s.storageFurl !== undefined) parseFurl(s.storageFurl);
    for (const n of s.storageNurls) parseNurl(n);
    if (s.permutationSeedBase32 !== undefined && !/^[a-z2-7]+$/.test(s.permutationSeedBase32)) {
      throw new ConfigValueError(
        "TAHOE_ERR_CONFIG_PERMUTATION_SEED",
        `server '${s.serverId}': permutation-seed-base32 '${s.permutationSeedBase32}' is not base32`,
        { hint: "lower-case base32 (a-z, 2-7), as announced by the server" },
      );
    }
    const ann = new Map<string, unknown>();
    if (s.nickname !== undefined) ann.set("nickname", s.nickname);
    if (s.storageFurl !== undefined) ann.set("anonymous-storage-FURL", s.storageFurl);
    if (s.storageNurls.length > 0) ann.set("anonymous-storage-NURLs", [...s.storageNurls]);
    if (s.permutationSeedBase32 !== undefined) ann.set("permutation-seed-base32", s.permutationSeedBase32);
    for (const [key, value] of Object.entries(s.announcement)) {
      if (!KNOWN_ANN.includes(key)) ann.set(key, value);
    }
    const entry = new Map<string, unknown>([["ann", ann]]);
    if (s.connections) entry.set("connections", { tcp: s.connections.tcp });
    storage.set(s.serverId, entry);
  }
  return dumpYaml({ storage });
}
