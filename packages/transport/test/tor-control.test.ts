import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTahoeError } from "@lafs/interface";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  allocateOnionService,
  connectTorControl,
  createTorProvider,
  parseBootstrapPhase,
  parseOnionPrivateKey,
} from "../src/index.js";
import { createReplyParser, type TorReply } from "../src/tor/control-connection.js";
import { parseSocksListeners } from "../src/tor/socks-listeners.js";

const temp = mkdtempSync(join(tmpdir(), "lafs-tor-ctl-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** A tiny Tor control port: PROTOCOLINFO with the given methods, then canned answers. */
function fakeTor(
  methods: string,
  cookie: Buffer | undefined,
  answer: (line: string, socket: Socket) => string | undefined,
): Promise<{ port: number; server: Server; cookieFile: string; seen: string[] }> {
  const cookieFile = join(temp, `cookie-${randomBytes(4).toString("hex")}`);
  if (cookie) writeFileSync(cookieFile, cookie);
  const seen: string[] = [];
  const server = createServer((socket) => {
    let buf = "";
    let clientNonce = "";
    const serverNonce = randomBytes(32);
    socket.on("error", () => {});
    socket.on("data", (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\r\n"); nl >= 0; nl = buf.indexOf("\r\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        seen.push(line);
        if (line === "PROTOCOLINFO 1") {
          socket.write(
            `250-PROTOCOLINFO 1\r\n250-AUTH METHODS=${methods} COOKIEFILE="${cookieFile}"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n`,
          );
        } else if (line.startsWith("AUTHCHALLENGE SAFECOOKIE ")) {
          clientNonce = line.split(" ")[2] as string;
          const msg = Buffer.concat([cookie as Buffer, Buffer.from(clientNonce, "hex"), serverNonce]);
          const hash = createHmac("sha256", "Tor safe cookie authentication server-to-controller hash")
            .update(msg)
            .digest("hex");
          socket.write(`250 AUTHCHALLENGE SERVERHASH=${hash} SERVERNONCE=${serverNonce.toString("hex")}\r\n`);
        } else if (line.startsWith("AUTHENTICATE")) {
          const given = line.split(" ")[1];
          let ok = methods.includes("NULL");
          if (cookie && given === cookie.toString("hex")) ok = true;
          if (cookie && clientNonce) {
            const msg = Buffer.concat([cookie, Buffer.from(clientNonce, "hex"), serverNonce]);
            const want = createHmac("sha256", "Tor safe cookie authentication controller-to-server hash")
              .update(msg)
              .digest("hex");
            if (given?.toLowerCase() === want) ok = true;
          }
          socket.write(
            ok ? "250 OK\r\n" : "515 Authentication failed: Wrong length on authentication cookie.\r\n",
          );
        } else {
          socket.write(answer(line, socket) ?? "510 Unrecognized command\r\n");
        }
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({ port: typeof a === "object" && a ? a.port : 0, server, cookieFile, seen });
    }),
  );
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe("the control-port reply parser", () => {
  it("splits mid-lines, data blocks and async events, across chunk boundaries", () => {
    const replies: TorReply[] = [];
    const events: TorReply[] = [];
    const feed = createReplyParser(
      (r) => replies.push(r),
      (e) => events.push(e),
    );
    const text =
      "250-version=0.4.9\r\n250+config-text=\r\nSocksPort 9050\r\n..dotted\r\n.\r\n250 OK\r\n650 HS_DESC UPLOADED abc x\r\n";
    for (const ch of text) feed(ch);
    expect(replies).toEqual([
      { status: 250, lines: ["version=0.4.9", "config-text=\nSocksPort 9050\n.dotted", "OK"] },
    ]);
    expect(events).toEqual([{ status: 650, lines: ["HS_DESC UPLOADED abc x"] }]);
  });

  it("refuses a stream that is not a control port (e.g. a SOCKS or HTTP port)", () => {
    const feed = createReplyParser(
      () => {},
      () => {},
    );
    expect(() => feed("HTTP/1.0 501 Tor is not an HTTP Proxy\r\n")).toThrow(
      "not a Tor control-port reply line: 'HTTP/1.0 501 Tor is not an HTTP Proxy'",
    );
  });
});

describe("small parsers", () => {
  it("reads GETINFO net/listeners/socks", () => {
    expect(parseSocksListeners('"127.0.0.1:9050" "unix:/run/tor/socks" "[::1]:9150" "0.0.0.0:1"')).toEqual([
      { kind: "tcp", host: "127.0.0.1", port: 9050 },
      { kind: "unix", path: "/run/tor/socks" },
      { kind: "tcp", host: "::1", port: 9150 },
      { kind: "tcp", host: "127.0.0.1", port: 1 },
    ]);
    expect(parseSocksListeners("")).toEqual([]);
  });

  it("reads bootstrap phases with their warning", () => {
    expect(
      parseBootstrapPhase(
        'WARN BOOTSTRAP PROGRESS=14 TAG=handshake SUMMARY="Handshaking with a relay" WARNING="Connection refused" REASON=CONNECTREFUSED',
      ),
    ).toEqual({
      severity: "WARN",
      progress: 14,
      tag: "handshake",
      summary: "Handshaking with a relay",
      warning: "Connection refused",
    });
    expect(parseBootstrapPhase("nothing here")).toBeUndefined();
  });

  it("checks an onion key file's text", () => {
    const key = `ED25519-V3:${"A".repeat(86)}==`;
    expect(parseOnionPrivateKey(`${key}\n`, "k")).toBe(key);
    expect(() => parseOnionPrivateKey("RSA1024:abc", "/n/private/tor_onion.privkey")).toThrow(
      "/n/private/tor_onion.privkey does not hold a v3 onion service key",
    );
  });
});

describe("authentication", () => {
  const infoAnswer = (line: string) =>
    line === "GETINFO version" ? "250-version=0.4.9.11\r\n250 OK\r\n" : undefined;

  it.each(["NULL", "COOKIE", "SAFECOOKIE", "COOKIE,SAFECOOKIE"])(
    "authenticates with METHODS=%s",
    async (methods) => {
      const fake = await fakeTor(methods, randomBytes(32), infoAnswer);
      servers.push(fake.server);
      const control = await connectTorControl({ kind: "tcp", host: "127.0.0.1", port: fake.port });
      expect((await control.getInfo("version")).get("version")).toBe("0.4.9.11");
      await control.close();
      const auth = fake.seen.find((l) => l.startsWith("AUTHENTICATE")) ?? "";
      if (methods === "NULL") expect(auth).toBe("AUTHENTICATE");
      // SAFECOOKIE is preferred whenever offered: the cookie itself is never sent.
      if (methods.includes("SAFECOOKIE"))
        expect(fake.seen.some((l) => l.startsWith("AUTHCHALLENGE"))).toBe(true);
    },
  );

  it("refuses a password-only tor with a hint", async () => {
    const fake = await fakeTor("HASHEDPASSWORD", undefined, infoAnswer);
    servers.push(fake.server);
    const error = await connectTorControl({ kind: "tcp", host: "127.0.0.1", port: fake.port }).catch(
      (e) => e,
    );
    expect(isTahoeError(error)).toBe(true);
    expect(error.code).toBe("TAHOE_ERR_TOR_AUTH");
    expect(error.message).toBe(
      `Tor (tcp:127.0.0.1:${fake.port}) offers only HASHEDPASSWORD authentication, which lafs-ts cannot use`,
    );
    expect(error.hint).toContain("CookieAuthentication 1");
  });

  it("names the cookie file it cannot read", async () => {
    const fake = await fakeTor("COOKIE", undefined, infoAnswer);
    servers.push(fake.server);
    const error = await connectTorControl({ kind: "tcp", host: "127.0.0.1", port: fake.port }).catch(
      (e) => e,
    );
    expect(error.code).toBe("TAHOE_ERR_TOR_AUTH");
    expect(error.message).toContain(`cannot read Tor's authentication cookie '${fake.cookieFile}'`);
    expect(error.message).toContain("ENOENT");
  });

  it("turns a refused command into TAHOE_ERR_TOR_CONTROL_COMMAND quoting Tor", async () => {
    const fake = await fakeTor("NULL", undefined, (line) =>
      line.startsWith("ADD_ONION") ? "512 Bad arguments to ADD_ONION: Unknown key type\r\n" : undefined,
    );
    servers.push(fake.server);
    const control = await connectTorControl({ kind: "tcp", host: "127.0.0.1", port: fake.port });
    const error = await control.command("ADD_ONION X Port=1").catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TOR_CONTROL_COMMAND");
    expect(error.message).toBe(
      `Tor (tcp:127.0.0.1:${fake.port}) refused ADD_ONION: 512 Bad arguments to ADD_ONION: Unknown key type`,
    );
    await control.close();
  });
});

describe("finding Tor", () => {
  it("names every default endpoint it tried and why it failed", async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    const provider = createTorProvider({
      basedir: temp,
      tor: { enabled: true, launch: false },
      defaults: {
        socks: [{ kind: "tcp", host: "127.0.0.1", port: closed }],
        control: [{ kind: "unix", path: join(temp, "no-such-control") }],
      },
    });
    const error = await provider.socksEndpoint().catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TOR_NOT_FOUND");
    expect(error.message).toContain(`SOCKS port tcp:127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(error.message).toContain(`control port unix:${join(temp, "no-such-control")} (`);
    expect(error.message).toContain("ENOENT");
  });

  it("uses [tor]socks.port as given, and refuses everything when [tor]enabled = false", async () => {
    const given = createTorProvider({
      basedir: temp,
      tor: { enabled: true, launch: false, socksPort: { kind: "unix", path: "/run/tor/socks" } },
    });
    expect(await given.socksEndpoint()).toEqual({ path: "/run/tor/socks" });
    const off = createTorProvider({ basedir: temp, tor: { enabled: false, launch: false } });
    expect((await off.socksEndpoint().catch((e) => e)).code).toBe("TAHOE_ERR_TOR_DISABLED");
  });

  it("create-time allocation through a control port that is not there fails naming it", async () => {
    const error = await allocateOnionService({
      via: { kind: "default", candidates: [{ kind: "unix", path: join(temp, "nothing") }] },
      localPort: 1,
      externalPort: 3457,
    }).catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TOR_NOT_FOUND");
    expect(error.message).toContain(`no Tor control port found; tried unix:${join(temp, "nothing")} (`);
  });
});
