import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
  brokenControlPanelStateError,
  type ConfigIssue,
  ConfigValueError,
  checkEncoding,
  formatServerListFile,
  isServerId,
  lineOf,
  NODE_FILES,
  parseServerListFile,
  readControlPanelState,
  readTextIfPresent,
  readWebSecret,
  retireWebSecret,
  type TahoeConfig,
  writeControlPanelState,
  writeFileAtomic,
} from "@lafs/config";
import type { Logger } from "@lafs/interface";
import type { ServerList } from "@lafs/introducer-client";
import { type ServerFlags, serverFlagsFromFiles } from "@lafs/storage-client";
import {
  type ControlEncoding,
  type ControlFileIssue,
  type ControlServerInfo,
  createSecretGate,
  type SettingSource,
  type WebControl,
} from "@lafs/web";
import { serverInfo } from "./web-node.js";

export interface Encoding {
  k: number;
  happy: number;
  n: number;
}

/** What the uploader reads: the encoding in effect, read afresh for each upload. */
export interface EncodingSource {
  /** The value read last (status pages are synchronous). */
  last(): Encoding;
  read(): Promise<Encoding>;
}

export interface NodeWebControl extends WebControl {
  readonly encodingSource: EncodingSource;
  /** servers-allowed, servers-required and control-panel.json with tahoe.cfg's new-servers. */
  readFlags(): Promise<ServerFlags>;
}

export interface WebControlOptions {
  basedir: string;
  config: TahoeConfig;
  serverList: ServerList;
  logger: Logger;
  now?: () => number;
}

function toControlIssue(issue: ConfigIssue): ControlFileIssue {
  return { file: issue.file, line: issue.line ?? 0, message: issue.message };
}

/**
 * The lines of a hand-edited list that did not parse, turned into comments, so rewriting the file
 * from the panel loses nothing the user wrote.
 */
function keptLines(text: string | undefined, issues: readonly ConfigIssue[], file: string): string {
  if (text === undefined) return "";
  const lines = text.split(/\r?\n/);
  return issues
    .filter((i) => i.file === file && i.line !== undefined)
    .map((i) => `# kept from line ${i.line} (${i.message}): ${lines[i.line! - 1]?.trim() ?? ""}\n`)
    .join("");
}

const HEADER = (file: string, what: string) =>
  `${file}: the servers ${what}, one server id per line, then its nickname.\n` +
  "Written by the control panel (tahoe webopen --control-panel); you may edit it by hand.";

/**
 * The control panel's side of the node: the secret (private/web.secret, read per request, retired
 * by deleting the file after [node]web.control-panel.idle-timeout), the server flags files and the
 * encoding kept in control-panel.json.
 */
export async function createNodeWebControl(options: WebControlOptions): Promise<NodeWebControl> {
  const { basedir, config } = options;
  const log = options.logger.child({ component: "control-panel" });
  const secretPath = join(basedir, NODE_FILES.webSecret);
  const idle = config.node.webControlPanelIdleTimeout;

  const secretMatches = createSecretGate({
    async read() {
      const secret = await readWebSecret(basedir);
      if (secret === undefined) return undefined;
      const writtenAt = (await stat(secretPath)).mtimeMs;
      return { secret, writtenAt };
    },
    async retire(secret) {
      // The secret itself is never logged.
      if (await retireWebSecret(basedir, secret))
        log.info({ idleTimeoutSeconds: idle }, "control panel secret retired after its idle timeout");
    },
    idleTimeoutMs: idle === undefined ? undefined : idle * 1000,
    ...(options.now ? { now: options.now } : {}),
  });

  const readFlags = () => serverFlagsFromFiles(basedir, { newServers: config.client.newServers });

  function configEncoding(): ControlEncoding {
    const source = (key: string): SettingSource =>
      lineOf(config, "client", key) === undefined ? "default" : "tahoe.cfg";
    return {
      k: config.client.sharesNeeded,
      happy: config.client.sharesHappy,
      n: config.client.sharesTotal,
      sources: { k: source("shares.needed"), happy: source("shares.happy"), n: source("shares.total") },
    };
  }

  async function encoding(): Promise<ControlEncoding> {
    const read = await readControlPanelState(basedir);
    if (read.errors.length > 0) {
      for (const e of read.errors) log.warn({ file: e.file, line: e.line }, e.message);
      return { ...configEncoding(), issues: read.errors.map(toControlIssue) };
    }
    const saved = read.state?.encoding;
    if (saved === undefined) return configEncoding();
    const panel: SettingSource = "control panel";
    return { ...saved, sources: { k: panel, happy: panel, n: panel } };
  }

  let lastEncoding: Encoding = (() => {
    const { k, happy, n } = configEncoding();
    return { k, happy, n };
  })();
  const encodingSource: EncodingSource = {
    last: () => lastEncoding,
    async read() {
      const { k, happy, n } = await encoding();
      lastEncoding = { k, happy, n };
      return lastEncoding;
    },
  };
  await encodingSource.read();

  async function listTexts() {
    const [allowed, required] = await Promise.all([
      readTextIfPresent(join(basedir, NODE_FILES.serversAllowed)),
      readTextIfPresent(join(basedir, NODE_FILES.serversRequired)),
    ]);
    return { allowed, required };
  }

  /** Nicknames the files give, for servers known only from them. */
  function fileNicknames(texts: { allowed?: string | undefined; required?: string | undefined }) {
    const names = new Map<string, string>();
    for (const [text, file] of [
      [texts.required, NODE_FILES.serversRequired],
      [texts.allowed, NODE_FILES.serversAllowed],
    ] as const) {
      if (text === undefined) continue;
      for (const e of parseServerListFile(text, file).entries) names.set(e.serverId, e.fields.join(" "));
    }
    return names;
  }

  async function servers() {
    const [flags, texts] = await Promise.all([readFlags(), listTexts()]);
    for (const issue of flags.issues) log.warn({ file: issue.file, line: issue.line }, issue.message);
    const known = options.serverList.servers();
    const shown: ControlServerInfo[] = known.map((s) => {
      const info: ControlServerInfo = {
        ...serverInfo(s),
        allowed: flags.allowed(s.serverId),
        required: flags.required(s.serverId),
        decided: flags.decided(s.serverId),
        listedOnly: false,
        full: s.availableSpace === 0,
      };
      if (s.permutationSeedBase32 !== undefined) info.permutationSeed = s.permutationSeedBase32;
      return info;
    });
    const names = fileNicknames(texts);
    const seen = new Set(known.map((s) => s.serverId));
    for (const id of new Set([...(flags.allowedIds ?? []), ...flags.requiredIds])) {
      if (seen.has(id)) continue;
      shown.push({
        id,
        nickname: names.get(id) ?? "",
        connection: { state: "disconnected" },
        learnedFrom: [],
        allowed: flags.allowed(id),
        required: flags.required(id),
        decided: true,
        listedOnly: true,
        full: false,
      });
    }
    return {
      servers: shown,
      newServersAllowed: flags.newServersAllowed,
      newServersAllowedSource: flags.newServersSource,
      issues: flags.issues.map(toControlIssue),
    };
  }

  return {
    encodingSource,
    readFlags,
    secretMatches,
    servers,
    encoding,

    async saveServers(choice) {
      const state = await readControlPanelState(basedir);
      // A broken control-panel.json stops the save (naming its line) before any list is rewritten.
      if (state.errors.length > 0) throw brokenControlPanelStateError(basedir, state.errors);
      const [flags, texts, current] = await Promise.all([readFlags(), listTexts(), servers()]);
      const shown = choice.shown ?? current.servers.map((s) => s.id);
      for (const id of [...choice.allowed, ...choice.required, ...shown]) {
        // Only a hand-made request gets here: the page lists ids the node knows.
        if (!isServerId(id))
          throw new ConfigValueError("TAHOE_ERR_CONFIG_SERVER_ID", `'${id}' is not a server id`, {
            hint: "a server id is v0- followed by 52 base32 characters; nothing was saved",
          });
      }
      const shownSet = new Set(shown);
      const nickname = new Map(current.servers.map((s) => [s.id, s.nickname]));
      // Ids listed by hand that the page did not show (it was open while the file changed) stay.
      const merge = (listed: Iterable<string>, ticked: string[]) => [
        ...new Set([...[...listed].filter((id) => !shownSet.has(id)), ...ticked]),
      ];
      const entries = (ids: string[]) =>
        ids.map((id) => ({ serverId: id, fields: nickname.get(id) ? [nickname.get(id)!] : [] }));
      const allowed = merge(flags.allowedIds ?? [], choice.allowed);
      const required = merge(flags.requiredIds, choice.required);
      const allowedText =
        formatServerListFile(entries(allowed), HEADER(NODE_FILES.serversAllowed, "uploads may use")) +
        keptLines(texts.allowed, flags.issues, NODE_FILES.serversAllowed);
      const requiredText =
        formatServerListFile(entries(required), HEADER(NODE_FILES.serversRequired, "uploads require")) +
        keptLines(texts.required, flags.issues, NODE_FILES.serversRequired);
      await writeFileAtomic(join(basedir, NODE_FILES.serversAllowed), allowedText);
      await writeFileAtomic(join(basedir, NODE_FILES.serversRequired), requiredText);
      const decided = [...new Set([...(state.state?.decided ?? []), ...shown])];
      await writeControlPanelState(basedir, {
        ...(state.state ?? {}),
        version: 1,
        newServersAllowed: choice.newServersAllowed,
        decided,
      });
      log.info(
        { allowed: allowed.length, required: required.length },
        "control panel saved the server lists",
      );
    },

    async saveEncoding(e) {
      checkEncoding(e);
      const state = await readControlPanelState(basedir);
      await writeControlPanelState(basedir, { ...(state.state ?? {}), version: 1, encoding: { ...e } });
      await encodingSource.read();
      log.info(e, "control panel saved the encoding");
    },
  };
}
