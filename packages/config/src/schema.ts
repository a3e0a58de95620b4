import { z } from "zod";
import { type ListenEndpoint, parseEndpoint, parseEndpointList } from "./endpoint.js";
import { parseFurl } from "./furl.js";
import { parseTubLocation, type TubLocation } from "./hint.js";
import { IDLE_TIMEOUT_ALLOWED, parseIdleTimeout } from "./idle-timeout.js";
import { checkIntroducerUrl } from "./introducers-yaml.js";
import { ConfigValueError } from "./issues.js";
import {
  BOOLEAN_ALLOWED,
  CLIENT_ENDPOINT_ALLOWED,
  DATE_ALLOWED,
  DURATION_ALLOWED,
  type IntegerRange,
  integerAllowed,
  parseAbbreviatedSize,
  parseBooleanValue,
  parseChoice,
  parseClientEndpoint,
  parseCommaList,
  parseDate,
  parseDuration,
  parsedString,
  parseIntegerValue,
  SIZE_ALLOWED,
} from "./values.js";

/**
 * The one table of tahoe.cfg: every section and key Tahoe-LAFS 1.20 accepts, with the zod
 * schema of its value, its default, its description and what is allowed. The loader, the
 * typed TahoeConfig and docs/CONFIGURATION.md are all derived from it, so a new key is one
 * entry here.
 */

/** A key lafs-ts reads but does not act on (or not for some values): said out loud, never silent. */
export interface KeySupport<T> {
  /** Whether the value is one lafs-ts cannot honour. */
  when: (value: T) => boolean;
  /** An error where ignoring the value would surprise the user; otherwise a warning. */
  severity: "error" | "warning";
  message: string;
}

export interface KeySpec<T, D extends T | undefined> {
  /** As Tahoe-LAFS documents it (keys are matched case-insensitively). */
  name: string;
  value: z.ZodType<T, string>;
  /** The value when the key is absent (undefined = not set). */
  default: D;
  /** The default as shown in docs. */
  defaultText: string;
  /** What is allowed, for error messages and docs. */
  allowed: string;
  description: string;
  /** Tahoe-LAFS treats an empty value as if the key were absent. */
  emptyMeansUnset?: boolean;
  support?: KeySupport<T>;
}

// biome-ignore lint/suspicious/noExplicitAny: the table holds keys of every value type.
export type AnyKeySpec = KeySpec<any, any>;

export interface SectionSpec<K extends Record<string, AnyKeySpec>> {
  name: string;
  description: string;
  keys: K;
}

function key<T, D extends T | undefined>(spec: KeySpec<T, D>): KeySpec<T, D> {
  return spec;
}

function section<K extends Record<string, AnyKeySpec>>(spec: SectionSpec<K>): SectionSpec<K> {
  return spec;
}

const bool = parsedString(parseBooleanValue);
const int = (range: IntegerRange) => parsedString((t) => parseIntegerValue(t, range));
const text = z.string();
const commaList = parsedString(parseCommaList);
const size = parsedString(parseAbbreviatedSize);
const clientEndpoint = parsedString(parseClientEndpoint);
const choice = <const W extends string>(words: readonly W[]) => parsedString((t) => parseChoice(t, words));
const path = parsedString((t) => {
  if (t === "") {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_PATH", "the path is empty", {
      hint: "a file or directory path; relative paths are relative to the node directory",
    });
  }
  return t;
});
const PATH_ALLOWED = "a path; relative paths are relative to the node directory";

/** `tub.port`: where the node's storage/introducer HTTPS service listens. */
export type TubPort = { kind: "disabled" } | { kind: "listen"; endpoints: ListenEndpoint[] };

const tubPort = parsedString<TubPort>((t) => {
  const v = t.trim();
  if (v === "") {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_TUB_PORT", "tub.port is present but empty", {
      hint: 'write "disabled" to listen nowhere, or remove the line to let Tahoe-LAFS pick a port',
    });
  }
  if (v === "disabled") return { kind: "disabled" };
  if (v.startsWith("listen:")) {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_BAD_TUB_PORT", `"${v}" is not supported by lafs-ts`, {
      hint: "create onion/I2P services at create-node time and listen on tcp:PORT:interface=127.0.0.1",
    });
  }
  return { kind: "listen", endpoints: parseEndpointList(v) };
});

const webPort = parsedString<ListenEndpoint>((t) => parseEndpoint(t));
const tubLocation = parsedString<TubLocation>((t) => parseTubLocation(t));
function refuseNone(t: string): string {
  // Tahoe-LAFS refuses the Python-ism "None" rather than treat it as a URL or as unset.
  if (t.trim() === "None") {
    throw new ConfigValueError("TAHOE_ERR_CONFIG_FURL", '"None" is not a fURL', {
      hint: "to leave it unset, remove the line",
    });
  }
  return t.trim();
}
const furl = parsedString((t) => {
  parseFurl(refuseNone(t));
  return t.trim();
});
const introducerUrl = parsedString((t) => {
  const problem = checkIntroducerUrl(refuseNone(t));
  if (problem) throw problem;
  return t.trim();
});
const FURL_ALLOWED = "a fURL: pb://TUBID@HINT[,HINT...]/SWISSNUM";

const PORT: IntegerRange = { min: 1, max: 65535 };
const SECONDS: IntegerRange = { min: 1, max: 10 * 365 * 24 * 3600 };
const SHARES: IntegerRange = { min: 1, max: 256 };
const BOOTSTRAP_SECONDS: IntegerRange = { min: 1, max: 3600 };

export const SCHEMA = {
  node: section({
    name: "node",
    description: "Settings of every node: its name, the web server, where it listens and how peers reach it.",
    keys: {
      nickname: key({
        name: "nickname",
        value: text,
        default: "<unspecified>",
        defaultText: "<unspecified>",
        allowed: "any text (UTF-8)",
        description: "A name for this node, shown to other grid members and on the welcome page.",
      }),
      revealIpAddress: key({
        name: "reveal-IP-address",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description:
          "false makes the node refuse any configuration that could reveal its IP address: plain TCP connections, " +
          "automatic (AUTO) or tcp: location hints, public listening sockets, non-loopback Tor/I2P daemons. Use it for nodes that must only be reachable over Tor or I2P.",
      }),
      webPort: key({
        name: "web.port",
        value: webPort,
        default: undefined,
        defaultText: "(none: no web server)",
        allowed: "a listening endpoint such as tcp:3456:interface=127.0.0.1, or empty for no web server",
        description:
          "Where the web server (welcome page, web API and control panel) listens. Keep it on a loopback interface: anyone who can reach it can use the node's files.",
        emptyMeansUnset: true,
      }),
      controlPort: key({
        name: "control.port",
        value: webPort,
        default: undefined,
        defaultText: "(none: a loopback port is picked at first start and kept in private/control.url)",
        allowed: "tcp:PORT:interface=127.0.0.1 (the control tub never listens anywhere else)",
        description:
          "Where the control tub listens: the local port `tahoe status`, `tahoe logs` and `tahoe stop` talk to, with its own key in private/control.pem and its address in private/control.url. It is never announced and never reachable through Tor. create-node writes it.",
        emptyMeansUnset: true,
      }),
      webStatic: key({
        name: "web.static",
        value: path,
        default: "public_html",
        defaultText: "public_html",
        allowed: PATH_ALLOWED,
        description: "A directory of static files served under /static on the web server.",
      }),
      tubPort: key({
        name: "tub.port",
        value: tubPort,
        default: undefined,
        defaultText: "(none: a port is picked at first start)",
        allowed:
          "disabled, or a comma-separated list of listening endpoints such as tcp:3457:interface=127.0.0.1",
        description:
          'Where the node\'s HTTPS service (storage server, introducer) listens. "disabled" (together with tub.location = disabled) makes a client-only node that accepts no connections.',
      }),
      tubLocation: key({
        name: "tub.location",
        value: tubLocation,
        default: undefined,
        defaultText: "AUTO",
        allowed:
          "disabled, or a comma-separated list of hints: tcp:HOST:PORT, tor:ONION:PORT, i2p:ADDR[:PORT], AUTO",
        description:
          "How other nodes reach this one: the connection hints put into this node's NURLs. AUTO stands for this machine's own IP addresses and the port of tub.port.",
      }),
      logGathererFurl: key({
        name: "log_gatherer.furl",
        value: furl,
        default: undefined,
        defaultText: "(none)",
        allowed: FURL_ALLOWED,
        description:
          "Tahoe-LAFS sends its logs to this Foolscap log gatherer. lafs-ts logs through its own logger and ignores it.",
        emptyMeansUnset: true,
        support: {
          when: () => true,
          severity: "warning",
          message: "lafs-ts has no Foolscap log gatherer; this key is ignored (logs go to the node's logger)",
        },
      }),
      timeoutKeepalive: key({
        name: "timeout.keepalive",
        value: int(SECONDS),
        default: undefined,
        defaultText: "(none: no keepalive)",
        allowed: integerAllowed(SECONDS),
        description: "Seconds of silence after which the node sends a keepalive to a connected peer.",
        emptyMeansUnset: true,
      }),
      timeoutDisconnect: key({
        name: "timeout.disconnect",
        value: int(SECONDS),
        default: undefined,
        defaultText: "(none: never)",
        allowed: integerAllowed(SECONDS),
        description: "Seconds of silence after which the node drops a connection to a peer and reconnects.",
        emptyMeansUnset: true,
      }),
      webControlPanelIdleTimeout: key({
        name: "web.control-panel.idle-timeout",
        value: parsedString(parseIdleTimeout),
        default: undefined,
        defaultText: "(none: the secret URL lives until the next tahoe webopen --control-panel)",
        allowed: IDLE_TIMEOUT_ALLOWED,
        description:
          "Retires the control panel's secret URL (private/web.secret is deleted) once it has not been used for this long; " +
          "run tahoe webopen --control-panel for a new one. The value is in seconds in the typed config.",
        emptyMeansUnset: true,
      }),
      webUploadAuthority: key({
        name: "web.upload-authority",
        value: choice(["anyone", "private"]),
        default: "anyone",
        defaultText: "anyone",
        allowed: "anyone or private",
        description:
          "private takes the upload form off the welcome page and refuses PUT /uri and POST /uri?t=upload unless the request " +
          "carries Authorization: tahoe-bearer TOKEN with the contents of private/api_auth_token (tahoe put sends it); the " +
          "control panel's own upload form still works. Use it when others can reach the web port.",
      }),
      tempdir: key({
        name: "tempdir",
        value: path,
        default: "tmp",
        defaultText: "tmp",
        allowed: PATH_ALLOWED,
        description: "Where large uploads are buffered before encoding.",
      }),
    },
  }),
  connections: section({
    name: "connections",
    description: "How outbound connections are made.",
    keys: {
      tcp: key({
        name: "tcp",
        value: choice(["tcp", "tor", "disabled"]),
        default: "tcp",
        defaultText: "tcp",
        allowed: "tcp, tor or disabled",
        description:
          "The handler for tcp: hints. tcp connects directly (revealing this node's IP address), tor connects through Tor, disabled ignores tcp: hints. tor: and i2p: hints always use their own handler.",
      }),
    },
  }),
  tor: section({
    name: "tor",
    description:
      "Using Tor: a private tor process launched by the node, or an existing one reached through its control port.",
    keys: {
      enabled: key({
        name: "enabled",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description: "false turns Tor support off: tor: hints are then unreachable.",
      }),
      launch: key({
        name: "launch",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description: "true makes the node start its own tor process (state under private/).",
      }),
      executable: key({
        name: "tor.executable",
        value: path,
        default: undefined,
        defaultText: "(tor from PATH)",
        allowed: PATH_ALLOWED,
        description: "The tor program to launch when launch = true.",
        emptyMeansUnset: true,
      }),
      controlPort: key({
        name: "control.port",
        value: clientEndpoint,
        default: undefined,
        defaultText: "(none)",
        allowed: CLIENT_ENDPOINT_ALLOWED,
        description: "The control port of an already running tor, used to create onion services.",
        emptyMeansUnset: true,
      }),
      socksPort: key({
        name: "socks.port",
        value: clientEndpoint,
        default: undefined,
        defaultText: "(ask tor, or tcp:127.0.0.1:9050)",
        allowed: CLIENT_ENDPOINT_ALLOWED,
        description: "The SOCKS port of an already running tor, used for outbound connections.",
        emptyMeansUnset: true,
      }),
      torrcFile: key({
        name: "torrc.file",
        value: path,
        default: undefined,
        defaultText: "(none)",
        allowed: PATH_ALLOWED,
        description:
          "lafs-ts only. A file of extra torrc lines for the tor the node launches (launch = true), added after the node's own lines: e.g. the DirAuthority lines and TestingTorNetwork 1 of a private test network, or Bridge lines.",
        emptyMeansUnset: true,
      }),
      streamIsolation: key({
        name: "stream.isolation",
        value: bool,
        default: undefined,
        defaultText: "(true when reveal-IP-address = false, else false)",
        allowed: BOOLEAN_ALLOWED,
        description:
          "lafs-ts only. true gives each storage server's and introducer's connections their own SOCKS username and password, so Tor (IsolateSOCKSAuth, on by default for a SocksPort) puts them on circuits of their own and no exit or relay sees one client's servers together.",
        emptyMeansUnset: true,
      }),
      bootstrapTimeout: key({
        name: "bootstrap.timeout",
        value: int(BOOTSTRAP_SECONDS),
        default: 300,
        defaultText: "300",
        allowed: integerAllowed(BOOTSTRAP_SECONDS),
        description:
          "lafs-ts only. How many seconds a launched tor may take to connect to the Tor network (Bootstrapped 100%) before the node gives up with an error naming the step it was stuck at.",
      }),
      onion: key({
        name: "onion",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description:
          "true publishes this node as an onion service; needs onion.local_port, onion.external_port and onion.private_key_file.",
      }),
      onionLocalPort: key({
        name: "onion.local_port",
        value: int(PORT),
        default: undefined,
        defaultText: "(none)",
        allowed: integerAllowed(PORT),
        description: "The local TCP port (on 127.0.0.1) the onion service forwards to; matches tub.port.",
        emptyMeansUnset: true,
      }),
      onionExternalPort: key({
        name: "onion.external_port",
        value: int(PORT),
        default: undefined,
        defaultText: "(none)",
        allowed: integerAllowed(PORT),
        description: "The port of the onion service as peers see it; matches the port in tub.location.",
        emptyMeansUnset: true,
      }),
      onionPrivateKeyFile: key({
        name: "onion.private_key_file",
        value: path,
        default: undefined,
        defaultText: "(none)",
        allowed: PATH_ALLOWED,
        description: "The onion service key, usually private/tor_onion.privkey.",
        emptyMeansUnset: true,
      }),
    },
  }),
  i2p: section({
    name: "i2p",
    description: "Using I2P through a SAM bridge: a launched i2p router or an existing one.",
    keys: {
      enabled: key({
        name: "enabled",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description: "false turns I2P support off: i2p: hints are then unreachable.",
      }),
      launch: key({
        name: "launch",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description:
          "true would make the node start its own I2P router; lafs-ts refuses it for now (a cross-field rule says so): run i2pd yourself and set sam.port.",
      }),
      executable: key({
        name: "i2p.executable",
        value: path,
        default: undefined,
        defaultText: "(i2prouter from PATH)",
        allowed: PATH_ALLOWED,
        description: "The I2P router program to launch when launch = true.",
        emptyMeansUnset: true,
      }),
      configdir: key({
        name: "i2p.configdir",
        value: path,
        default: undefined,
        defaultText: "(the router's default)",
        allowed: PATH_ALLOWED,
        description: "The configuration directory of the launched I2P router.",
        emptyMeansUnset: true,
      }),
      samPort: key({
        name: "sam.port",
        value: clientEndpoint,
        default: undefined,
        defaultText: "(tcp:127.0.0.1:7656)",
        allowed: CLIENT_ENDPOINT_ALLOWED,
        description: "The SAM bridge of an already running I2P router.",
        emptyMeansUnset: true,
      }),
      dest: key({
        name: "dest",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description:
          "true publishes this node as an I2P destination; needs dest.port and dest.private_key_file.",
      }),
      destPort: key({
        name: "dest.port",
        value: int(PORT),
        default: undefined,
        defaultText: "(none)",
        allowed: integerAllowed(PORT),
        description: "The port of the I2P destination; matches tub.port.",
        emptyMeansUnset: true,
      }),
      destPrivateKeyFile: key({
        name: "dest.private_key_file",
        value: path,
        default: undefined,
        defaultText: "(none)",
        allowed: PATH_ALLOWED,
        description: "The destination key, usually private/i2p_dest.privkey.",
        emptyMeansUnset: true,
      }),
    },
  }),
  client: section({
    name: "client",
    description: "Settings of the client side: introducers, encoding parameters, preferred servers.",
    keys: {
      introducerFurl: key({
        name: "introducer.furl",
        value: introducerUrl,
        default: undefined,
        defaultText: "(none)",
        allowed: "a NURL (pb://SPKIHASH@HINTS/SWISSNUM#v=1) or a fURL",
        description:
          "Deprecated in Tahoe-LAFS: the introducer to use. Put introducers in private/introducers.yaml instead (petname: {furl: ...}).",
        emptyMeansUnset: true,
      }),
      helperFurl: key({
        name: "helper.furl",
        value: furl,
        default: undefined,
        defaultText: "(none)",
        allowed: FURL_ALLOWED,
        description:
          "Tahoe-LAFS uploads through this helper. lafs-ts always uploads directly to storage servers.",
        emptyMeansUnset: true,
        support: {
          when: () => true,
          severity: "warning",
          message: "lafs-ts uploads directly to storage servers; the helper is not used",
        },
      }),
      keyGeneratorFurl: key({
        name: "key_generator.furl",
        value: furl,
        default: undefined,
        defaultText: "(none)",
        allowed: FURL_ALLOWED,
        description: "A historical Tahoe-LAFS key-generator service; ignored.",
        emptyMeansUnset: true,
        support: {
          when: () => true,
          severity: "warning",
          message: "lafs-ts generates keys itself; this key is ignored",
        },
      }),
      mutableFormat: key({
        name: "mutable.format",
        value: choice(["sdmf", "mdmf"]),
        default: "sdmf",
        defaultText: "sdmf",
        allowed: "sdmf or mdmf",
        description: "The format of new mutable files.",
      }),
      peersPreferred: key({
        name: "peers.preferred",
        value: commaList,
        default: [],
        defaultText: "(none)",
        allowed: "a comma-separated list of server ids (v0-...)",
        description: "Servers that get shares first, whatever their place in the permuted order.",
      }),
      sharesNeeded: key({
        name: "shares.needed",
        value: int(SHARES),
        default: 3,
        defaultText: "3",
        allowed: integerAllowed(SHARES),
        description: "k: how many shares are needed to rebuild a file.",
      }),
      sharesHappy: key({
        name: "shares.happy",
        value: int(SHARES),
        default: 7,
        defaultText: "7",
        allowed: integerAllowed(SHARES),
        description:
          "An upload succeeds only when shares are spread so that this many distinct servers hold them (servers of happiness).",
      }),
      sharesTotal: key({
        name: "shares.total",
        value: int(SHARES),
        default: 10,
        defaultText: "10",
        allowed: integerAllowed(SHARES),
        description: "N: how many shares are made of each file.",
      }),
      newServers: key({
        name: "new-servers",
        value: choice(["allowed", "not-allowed"]),
        default: undefined,
        defaultText:
          "(allowed when BASEDIR/servers-allowed does not exist, not-allowed when it does: a hand-written list is complete)",
        allowed: "allowed or not-allowed",
        description:
          "Whether uploads may use a server that is neither listed in servers-allowed nor already decided on the control panel. " +
          "Read until the control panel saves its own choice (kept in BASEDIR/control-panel.json).",
        emptyMeansUnset: true,
      }),
      maxSegmentSizeForTesting: key({
        name: "shares._max_immutable_segment_size_for_testing",
        value: int({ min: 1, max: 2 ** 30 }),
        default: undefined,
        defaultText: "(1048576, as Tahoe-LAFS 1.20)",
        allowed: integerAllowed({ min: 1, max: 2 ** 30 }),
        description: "For tests only: the segment size of new immutable files.",
        emptyMeansUnset: true,
      }),
      downloadWorker: key({
        name: "download.worker",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description:
          "lafs-ts only. true checks the block and segment hashes of immutable downloads on a worker thread, so the thread doing the network I/O does not hash: faster on a machine with a core to spare, slower on a busy one, and about 10 MB more resident memory while the thread lives.",
      }),
      storagePlugins: key({
        name: "storage.plugins",
        value: commaList,
        default: [],
        defaultText: "(none)",
        allowed: "a comma-separated list of plugin names",
        description: "Tahoe-LAFS storage client plugins. lafs-ts has none, so any name is an error.",
        support: {
          when: (v: string[]) => v.length > 0,
          severity: "error",
          message:
            "storage client plugins are not supported by lafs-ts: servers that require one would refuse this node",
        },
      }),
      forceFoolscap: key({
        name: "force_foolscap",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: "false (lafs-ts speaks only the HTTP storage protocol)",
        description:
          "true makes Tahoe-LAFS use Foolscap instead of HTTPS for storage. lafs-ts has no Foolscap.",
        support: {
          when: (v: boolean) => v,
          severity: "error",
          message:
            "force_foolscap = true is not supported: this node speaks only the HTTP storage protocol (GBS)",
        },
      }),
    },
  }),
  storage: section({
    name: "storage",
    description: "The storage server: whether it runs, where shares live, reserved space, lease expiry.",
    keys: {
      enabled: key({
        name: "enabled",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description: "true runs a storage server that holds shares for the grid.",
      }),
      anonymous: key({
        name: "anonymous",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description: "true announces the storage service so any client of the grid may use it.",
      }),
      readonly: key({
        name: "readonly",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description: "true serves existing shares but accepts no new ones.",
      }),
      reservedSpace: key({
        name: "reserved_space",
        value: size,
        default: 0,
        defaultText: "0",
        allowed: SIZE_ALLOWED,
        description: "Free disk space to keep: the server refuses new shares when less than this is left.",
        emptyMeansUnset: true,
      }),
      storageDir: key({
        name: "storage_dir",
        value: path,
        default: "storage",
        defaultText: "storage",
        allowed: PATH_ALLOWED,
        description: "Where shares are stored.",
      }),
      expireEnabled: key({
        name: "expire.enabled",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: BOOLEAN_ALLOWED,
        description:
          "true deletes shares whose leases have all expired (garbage collection), found by a lease crawler that walks the shares at 10% of the time, one cycle at most every 12 hours. false deletes nothing; the storage node's welcome page still shows what expiry would remove.",
      }),
      expireMode: key({
        name: "expire.mode",
        value: choice(["age", "cutoff-date"]),
        default: "age",
        defaultText: "age",
        allowed: "age or cutoff-date",
        description:
          "age: a lease expires a fixed time after its last renewal; cutoff-date: leases renewed before expire.cutoff_date expire.",
      }),
      expireOverrideLeaseDuration: key({
        name: "expire.override_lease_duration",
        value: parsedString(parseDuration),
        default: undefined,
        defaultText: "(the lease's own duration, 31 days)",
        allowed: DURATION_ALLOWED,
        description:
          "In age mode: how long after its last renewal a lease expires, in place of the duration stored in the lease. The value is in seconds in the typed config.",
      }),
      expireCutoffDate: key({
        name: "expire.cutoff_date",
        value: parsedString(parseDate),
        default: undefined,
        defaultText: "(none; required in cutoff-date mode)",
        allowed: DATE_ALLOWED,
        description:
          "In cutoff-date mode: leases last renewed before this date expire. Seconds since the epoch in the typed config.",
      }),
      expireImmutable: key({
        name: "expire.immutable",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description: "Whether expiry applies to immutable shares.",
      }),
      expireMutable: key({
        name: "expire.mutable",
        value: bool,
        default: true,
        defaultText: "true",
        allowed: BOOLEAN_ALLOWED,
        description: "Whether expiry applies to mutable shares.",
      }),
      debugDiscard: key({
        name: "debug_discard",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: "false (not supported by lafs-ts)",
        description:
          "A Tahoe-LAFS test switch that throws share data away. lafs-ts refuses it rather than store data the user expected to be dropped.",
        support: {
          when: (v: boolean) => v,
          severity: "error",
          message: "debug_discard = true is not supported by lafs-ts",
        },
      }),
      plugins: key({
        name: "plugins",
        value: commaList,
        default: [],
        defaultText: "(none)",
        allowed: "a comma-separated list of plugin names",
        description: "Tahoe-LAFS storage server plugins. lafs-ts has none, so any name is an error.",
        support: {
          when: (v: string[]) => v.length > 0,
          severity: "error",
          message:
            "storage server plugins are not supported by lafs-ts: the server would run without the access rules the plugin enforces",
        },
      }),
      gridManagement: key({
        name: "grid_management",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: "false (grid-manager certificates are not supported by lafs-ts)",
        description: "true makes a Tahoe-LAFS server announce grid-manager certificates. Not supported.",
        support: {
          when: (v: boolean) => v,
          severity: "error",
          message:
            "grid_management = true is not supported by lafs-ts: it cannot announce grid-manager certificates",
        },
      }),
      forceFoolscap: key({
        name: "force_foolscap",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: "false (lafs-ts speaks only the HTTP storage protocol)",
        description: "true makes a Tahoe-LAFS server announce only Foolscap. lafs-ts has no Foolscap.",
        support: {
          when: (v: boolean) => v,
          severity: "error",
          message:
            "force_foolscap = true is not supported: this node speaks only the HTTP storage protocol (GBS)",
        },
      }),
    },
  }),
  helper: section({
    name: "helper",
    description: "The Tahoe-LAFS upload helper (not available in lafs-ts).",
    keys: {
      enabled: key({
        name: "enabled",
        value: bool,
        default: false,
        defaultText: "false",
        allowed: "false (lafs-ts cannot run an upload helper)",
        description: "true runs an upload helper in Tahoe-LAFS. lafs-ts cannot, and refuses the setting.",
        support: {
          when: (v: boolean) => v,
          severity: "error",
          message: "[helper] enabled = true is not supported: lafs-ts cannot run an upload helper",
        },
      }),
    },
  }),
};

export type Schema = typeof SCHEMA;
export type SectionName = keyof Schema;
export const SECTION_NAMES = Object.keys(SCHEMA) as SectionName[];

type KeyOutput<K> = K extends KeySpec<infer T, infer D> ? (undefined extends D ? T | undefined : T) : never;
type SectionOutput<S> = S extends SectionSpec<infer K> ? { [F in keyof K]: KeyOutput<K[F]> } : never;

/**
 * Where each key came from: `"[node]web.port"` (key lower-cased, as keys are case-insensitive;
 * `"[node]"` for the header) -> line number. lineOf() does the lookup.
 */
export type SourceLines = Readonly<Record<string, number>>;

/** A loaded tahoe.cfg with defaults filled in. */
export type TahoeConfig = { [S in SectionName]: SectionOutput<Schema[S]> } & {
  /** For pointing at the line of a key: see lineOf(). */
  sourceLines: SourceLines;
};
export type NodeSection = TahoeConfig["node"];
export type ConnectionsSection = TahoeConfig["connections"];
export type TorSection = TahoeConfig["tor"];
export type I2pSection = TahoeConfig["i2p"];
export type ClientSection = TahoeConfig["client"];
export type StorageSection = TahoeConfig["storage"];
export type HelperSection = TahoeConfig["helper"];

/** The line a key (or, without key, a section header) came from; undefined for defaults. */
export function lineOf(
  config: Pick<TahoeConfig, "sourceLines">,
  section: string,
  keyName?: string,
): number | undefined {
  return config.sourceLines[sourceLineKey(section, keyName)];
}

export function sourceLineKey(section: string, keyName?: string): string {
  return keyName === undefined ? `[${section}]` : `[${section}]${keyName.toLowerCase()}`;
}

/**
 * Sections Tahoe-LAFS accepts that lafs-ts does not use. Ignoring the plugin and grid-manager
 * sections is announced with a warning; an SFTP server that is asked for is an error, since the
 * user would otherwise wait for a server that never starts.
 */
export interface ForeignSectionSpec {
  /** As shown in docs. */
  pattern: string;
  matches: (name: string) => boolean;
  description: string;
  /** The verdict for a section of this kind; `enabled` is its enabled key (if any), as a boolean. */
  verdict: (enabled: boolean) => { severity: "error" | "warning"; message: string };
}

export const FOREIGN_SECTIONS: readonly ForeignSectionSpec[] = [
  {
    pattern: "[storageclient.plugins.NAME]",
    matches: (n) => n.startsWith("storageclient.plugins."),
    description: "Settings of a Tahoe-LAFS storage client plugin. Accepted and ignored, with a warning.",
    verdict: () => ({
      severity: "warning",
      message: "storage client plugin settings are ignored by lafs-ts",
    }),
  },
  {
    pattern: "[storageserver.plugins.NAME]",
    matches: (n) => n.startsWith("storageserver.plugins."),
    description: "Settings of a Tahoe-LAFS storage server plugin. Accepted and ignored, with a warning.",
    verdict: () => ({
      severity: "warning",
      message: "storage server plugin settings are ignored by lafs-ts",
    }),
  },
  {
    pattern: "[grid_managers]",
    matches: (n) => n === "grid_managers",
    description:
      "Grid managers whose certificates a Tahoe-LAFS client requires of storage servers. Accepted with a warning: lafs-ts does not check certificates, so servers are chosen without them.",
    verdict: () => ({
      severity: "warning",
      message: "grid-manager certificates are not checked by lafs-ts: storage servers are used without them",
    }),
  },
  {
    pattern: "[sftpd]",
    matches: (n) => n === "sftpd",
    description:
      "The Tahoe-LAFS SFTP frontend. Accepted with a warning while disabled; enabled = true is an error.",
    verdict: (enabled) =>
      enabled
        ? { severity: "error", message: "the SFTP server is not supported by lafs-ts" }
        : {
            severity: "warning",
            message: "the SFTP frontend is not supported by lafs-ts; this section is ignored",
          },
  },
];
