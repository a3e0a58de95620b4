import dns from "node:dns";
import net from "node:net";
import { type ConnectionHint, loadTahoeCfgText, parseServersYaml } from "@lafs/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTransport, parseOverrideRules, type Transport } from "../src/index.js";
import { configOf, fakeSam, fakeSocks, i2pOf, type Listening, onionOf, sentinel } from "./fakes.js";

/**
 * The privacy proof: with reveal-IP-address = false, every hint a node could be handed (tcp
 * addresses on other loopback addresses standing in for the internet, names that only DNS
 * could resolve, onions, I2P) through every override path (servers.yaml `connections: {tcp:
 * tcp}`, rules, announcements) reaches only the Tor SOCKS port and the SAM bridge on 127.0.0.1.
 * Sentinel listeners at the hinted addresses must see no connection, the process must make no
 * DNS lookup, and every socket it opens must go to one of the two daemons.
 */

const A = `v0-${"a".repeat(52)}`; // servers.yaml says connections: {tcp: tcp}
const B = `v0-${"b".repeat(52)}`; // the rules file says tcp for it
const C = `v0-${"c".repeat(52)}`; // its announcement asks for tcp
const D = `v0-${"d".repeat(52)}`; // only the rules that match by hint
const HIDDEN =
  "[node]\nreveal-IP-address = false\ntub.port = disabled\ntub.location = disabled\n[storage]\nenabled = false\n";

describe("reveal-IP-address = false", () => {
  let sentinels: (Listening & { connections: () => number })[] = [];
  let socks: Awaited<ReturnType<typeof fakeSocks>>;
  let sam: Awaited<ReturnType<typeof fakeSam>>;
  let transport: Transport;
  let hints: ConnectionHint[];
  const lookups: string[] = [];
  const dials: string[] = [];
  const restore: (() => void)[] = [];

  beforeAll(async () => {
    sentinels = [await sentinel("127.0.0.2"), await sentinel("127.0.0.3"), await sentinel("127.0.0.1")];
    // Tor refuses everything it is asked (it "knows" no destination); the SAM bridge cannot reach a peer.
    socks = await fakeSocks(() => 0x05);
    sam = await fakeSam({ "STREAM CONNECT": "STREAM STATUS RESULT=CANT_REACH_PEER" });
    const [s2, s3, s1] = sentinels as unknown as [Listening, Listening, Listening];
    hints = [
      { kind: "tcp", host: "127.0.0.2", port: s2.port },
      { kind: "tcp", host: "127.0.0.3", port: s3.port },
      { kind: "tcp", host: "127.0.0.1", port: s1.port },
      { kind: "tcp", host: "sentinel.invalid", port: s2.port },
      { kind: "tcp", host: "localhost", port: s1.port },
      { kind: "tor", host: "sentinel.invalid", port: s3.port },
      { kind: "tor", host: onionOf(7), port: s2.port },
      { kind: "i2p", host: i2pOf(7), port: s3.port },
    ];
    const cfg = `[node]
reveal-IP-address = false
tub.port = disabled
tub.location = disabled
[connections]
tcp = tor
[tor]
socks.port = tcp:127.0.0.1:${socks.port}
[i2p]
sam.port = tcp:localhost:${sam.port}
[storage]
enabled = false
`;
    const serversYaml = `storage:\n  ${A}:\n    ann:\n      nickname: a\n    connections:\n      tcp: tcp\n`;
    const servers = parseServersYaml(serversYaml, "servers.yaml").servers;
    // The config loader already refuses this override; the transport must hold even if it were let through.
    expect(loadTahoeCfgText(cfg, { file: "tahoe.cfg", servers }).errors).not.toEqual([]);
    const rules = parseOverrideRules(
      `server ${B} tcp\nhint tcp:127.0.0.3/32 tcp\nhint localhost tcp\n`,
      "connections.rules",
    ).rules;
    transport = createTransport({ config: configOf(cfg), staticServers: servers, rules });
    transport.setAnnouncedOverrides(C, { tcp: "tcp" });

    // Installed after every listener is up: listen() itself looks up its bind address.
    for (const name of [
      "lookup",
      "resolve",
      "resolve4",
      "resolve6",
      "resolveAny",
      "lookupService",
    ] as const) {
      const original = dns[name];
      (dns as unknown as Record<string, unknown>)[name] = (host: string, ...rest: unknown[]) => {
        lookups.push(`${name} ${host}`);
        return (original as (...a: unknown[]) => unknown)(host, ...rest);
      };
      restore.push(() => {
        (dns as unknown as Record<string, unknown>)[name] = original;
      });
    }
    const promisesLookup = dns.promises.lookup;
    dns.promises.lookup = ((host: string, ...rest: unknown[]) => {
      lookups.push(`promises.lookup ${host}`);
      return (promisesLookup as (...a: unknown[]) => unknown)(host, ...rest);
    }) as typeof dns.promises.lookup;
    restore.push(() => {
      dns.promises.lookup = promisesLookup;
    });
    const connect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      const first = (Array.isArray(args[0]) ? args[0][0] : args[0]) as {
        host?: string;
        port?: number;
        path?: string;
      };
      dials.push(first.path ?? `${first.host}:${first.port}`);
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
    restore.push(() => {
      net.Socket.prototype.connect = connect;
    });
  });

  afterAll(async () => {
    for (const r of restore) r();
    await transport?.close();
    for (const l of [...sentinels, socks, sam]) await l?.close();
  });

  it("keeps the override's word in the policy, but no direct-TCP handler exists to act on it", () => {
    expect(transport.handlerFor(hints[0]!, A)).toBe("tcp");
    expect(transport.handlerFor(hints[0]!, B)).toBe("tcp");
    expect(transport.handlerFor(hints[0]!, C)).toBe("tor");
    expect(transport.handlerFor(hints[1]!, D)).toBe("tcp");
    expect(transport.handlerFor(hints[3]!, D)).toBe("tor");
    expect(transport.reachability([hints[0]!], A)).toMatchObject({
      reachable: false,
      reason: expect.stringContaining("reveal-IP-address is false"),
    });
  });

  it("opens no socket but to the loopback Tor and I2P daemons, on every path, for every server", async () => {
    const codes = new Set<string>();
    for (const serverId of [A, B, C, D, undefined]) {
      for (const hint of hints) {
        const err = await transport.connect(hint, { serverId }).catch((e: unknown) => e);
        codes.add((err as { code: string }).code);
        const viaConnector = await transport
          .connectorFor(serverId)(hint, new AbortController().signal)
          .catch((e: unknown) => e);
        expect((viaConnector as { code: string }).code).toBe((err as { code: string }).code);
      }
      await expect(transport.connectAny(hints, { serverId, staggerMs: 1 })).rejects.toMatchObject({
        code: "TAHOE_ERR_TRANSPORT_CONNECT_FAILED",
      });
    }
    expect([...codes].sort()).toEqual([
      "TAHOE_ERR_TRANSPORT_PRIVACY",
      "TAHOE_ERR_TRANSPORT_SAM_PEER_UNREACHABLE",
      "TAHOE_ERR_TRANSPORT_SOCKS_REFUSED",
    ]);
    // Names went to Tor as names (ATYP 3), addresses as addresses: Tor saw every tcp and tor hint of D.
    expect(socks.requests).toContainEqual({ atyp: 3, host: "sentinel.invalid", port: sentinels[0]!.port });
    expect(socks.requests).toContainEqual({ atyp: 1, host: "127.0.0.2", port: sentinels[0]!.port });
    expect(sam.lines.some((l) => l.includes(`DESTINATION=${i2pOf(7)}`))).toBe(true);

    for (const s of sentinels) expect(s.connections(), `sentinel ${s.host}:${s.port}`).toBe(0);
    expect(lookups).toEqual([]);
    const allowed = new Set([`127.0.0.1:${socks.port}`, `127.0.0.1:${sam.port}`]);
    expect(dials.length).toBeGreaterThan(0);
    expect(dials.filter((d) => !allowed.has(d))).toEqual([]);
  });

  it("refuses a Tor or SAM daemon that is not on this machine, before dialling it", async () => {
    const before = dials.length;
    const cfg = configOf(`${HIDDEN}[connections]\ntcp = tor\n`);
    const remote = createTransport({
      config: cfg,
      tor: { socksEndpoint: async () => ({ host: "192.0.2.1", port: 9050 }) },
      i2p: { samEndpoint: async () => ({ host: "192.0.2.1", port: 7656 }) },
    });
    await expect(remote.connect(hints[6]!)).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_PRIVACY",
      message: expect.stringContaining("the Tor SOCKS port tcp:192.0.2.1:9050 is not on this machine"),
    });
    await expect(remote.connect(hints[7]!)).rejects.toMatchObject({
      code: "TAHOE_ERR_TRANSPORT_PRIVACY",
      message: expect.stringContaining("the I2P SAM bridge tcp:192.0.2.1:7656"),
    });
    // The loader refuses a remote socks.port; a config that got past it anyway is refused again here.
    const remoteCfg = `${HIDDEN}[connections]\ntcp = tor\n[tor]\nsocks.port = tcp:192.0.2.1:9050\n`;
    expect(loadTahoeCfgText(remoteCfg, { file: "tahoe.cfg" }).errors).not.toEqual([]);
    const smuggled = configOf(`${HIDDEN}[connections]\ntcp = tor\n`);
    smuggled.tor.socksPort = { kind: "tcp", host: "192.0.2.1", port: 9050 };
    expect(() => createTransport({ config: smuggled })).toThrow(
      expect.objectContaining({
        code: "TAHOE_ERR_TRANSPORT_PRIVACY",
        hint: expect.stringContaining("[tor]socks.port"),
      }),
    );
    smuggled.tor.socksPort = undefined;
    smuggled.i2p.samPort = { kind: "tcp", host: "sam.example", port: 7656 };
    expect(() => createTransport({ config: smuggled })).toThrow(
      expect.objectContaining({
        code: "TAHOE_ERR_TRANSPORT_PRIVACY",
        hint: expect.stringContaining("[i2p]sam.port"),
      }),
    );
    expect(dials.length).toBe(before);
    expect(lookups).toEqual([]);
  });
});
