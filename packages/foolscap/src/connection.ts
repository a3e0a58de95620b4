import type { TLSSocket } from "node:tls";
import {
  BananaDecoder,
  type BananaLimits,
  type BananaMessage,
  type DecodedKeyword,
} from "./banana-decoder.js";
import { BananaEncoder, type KeywordArgument } from "./banana-encoder.js";
import { FoolscapError, FoolscapRemoteError, type RemoteFailure } from "./errors.js";
import type { Negotiated } from "./negotiate.js";
import { type BananaValue, bytes, bytesText, describeType, list, type MyReference } from "./values.js";

/** A local object the peer may call: what foolscap calls a Referenceable. */
export interface Referenceable {
  /** The RemoteInterface name the peer checks (e.g. RIIntroducerSubscriberClient_v2...), or "". */
  readonly interfaceName: string;
  /**
   * Runs one remote call. Throw a FoolscapError with code TAHOE_ERR_FOOLSCAP_VIOLATION for a call
   * the interface does not have or arguments of the wrong type: the peer gets an error answer.
   */
  callLocal(
    method: string,
    args: BananaValue[],
    kwargs: DecodedKeyword[],
  ): Promise<BananaValue> | BananaValue;
}

/** Something the peer sent us (`my-reference` from its side), callable on this connection. */
export interface RemoteReference {
  readonly clid: number;
  readonly interfaceName: string | undefined;
  readonly url: string | undefined;
  callRemote(
    method: string,
    args?: readonly BananaValue[],
    kwargs?: readonly KeywordArgument[],
  ): Promise<BananaValue>;
}

export interface ConnectionOptions {
  /** Objects the peer may fetch with getReferenceByName, by swissnum. */
  lookupName?: (name: string) => Referenceable | undefined;
  /** This Tub's fURL for a reference, sent the first time it goes out (only Tubs that listen have one). */
  urlFor?: (object: Referenceable) => string | undefined;
  limits?: Partial<BananaLimits>;
  /** Send a PING after this long without receiving anything; default 240 s (foolscap's keepaliveTimeout). */
  keepaliveMs?: number;
  /** Drop the connection after this long without receiving anything; default never. */
  disconnectMs?: number;
}

interface Pending {
  what: string;
  resolve: (value: BananaValue) => void;
  reject: (err: Error) => void;
}

/** foolscap's own name for a call the receiver refuses: Tahoe logs it and moves on. */
const VIOLATION = "foolscap.tokens.Violation";

function violation(message: string): FoolscapError {
  return new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", message, {
    hint: "the call does not fit the interface of the object it was sent to",
  });
}

/**
 * One Foolscap connection after negotiation: remote calls both ways, answers, errors and
 * references. Inbound calls start in the order they arrive; each is answered when its result is ready.
 * A protocol error from the peer ends the connection with a FoolscapError (never a throw into
 * the event loop); `closed` resolves with the reason and every pending call fails with it.
 */
export class FoolscapConnection {
  readonly peerTubId: string;
  /** `current-connection` of this connection's decision: the peer's next `last-connection`. */
  readonly currentConnection: string | undefined;
  readonly closed: Promise<FoolscapError>;
  /** The hint this connection was made through (`tcp:HOST:PORT`), when this side dialled. */
  readonly via: string | undefined;

  private readonly socket: TLSSocket;
  private readonly encoder: BananaEncoder;
  private readonly decoder: BananaDecoder;
  private readonly options: ConnectionOptions;
  private nextReqId = 1;
  private readonly pending = new Map<number, Pending>();
  private nextClid = 1;
  private readonly myClids = new Map<Referenceable, number>();
  private readonly myObjects = new Map<number, Referenceable>();
  private readonly sentOnce = new Set<number>();
  private closeReason: FoolscapError | undefined;
  private resolveClosed!: (reason: FoolscapError) => void;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastReceived = Date.now();

  constructor(negotiated: Negotiated, options: ConnectionOptions = {}, via?: string) {
    this.peerTubId = negotiated.peerTubId;
    this.via = via;
    this.currentConnection = negotiated.currentConnection;
    this.socket = negotiated.socket;
    this.options = options;
    this.encoder = new BananaEncoder(negotiated.vocabIndex);
    this.decoder = new BananaDecoder({ vocabIndex: negotiated.vocabIndex, limits: options.limits });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
    this.socket.on("error", (err) =>
      this.shutdown(this.lost(`the connection to tub ${this.peerTubId} failed: ${err.message}`)),
    );
    this.socket.on("close", () =>
      this.shutdown(this.lost(`the connection to tub ${this.peerTubId} was closed`)),
    );
    this.startIdleTimer();
    if (negotiated.leftover.length > 0) this.receive(negotiated.leftover);
    this.socket.resume();
  }

  get isOpen(): boolean {
    return this.closeReason === undefined;
  }

  /** Resolves a swissnum on the peer's broker (clid 0), as the first step of using a fURL. */
  async getReferenceByName(name: string): Promise<RemoteReference> {
    const answer = await this.callRemote(0, "getReferenceByName", [], [["name", bytes(name)]]);
    if (
      typeof answer !== "object" ||
      answer === null ||
      answer instanceof Uint8Array ||
      answer.kind !== "my-reference"
    ) {
      throw violation(
        `getReferenceByName on tub ${this.peerTubId} answered ${describeType(answer)}, not a reference`,
      );
    }
    return this.remoteReference(answer);
  }

  /** A callable handle for a `my-reference` the peer sent (an argument or an answer). */
  remoteReference(ref: MyReference): RemoteReference {
    return {
      clid: ref.clid,
      interfaceName: ref.interfaceName,
      url: ref.url,
      callRemote: (method, args = [], kwargs = []) => this.callRemote(ref.clid, method, args, kwargs),
    };
  }

  /**
   * The wire form of a local object: allocates its clid on this connection the first time, and
   * sends the interface name (and URL) only then, as foolscap does.
   */
  referenceFor(object: Referenceable): MyReference {
    let clid = this.myClids.get(object);
    if (clid === undefined) {
      clid = this.nextClid++;
      this.myClids.set(object, clid);
      this.myObjects.set(clid, object);
    }
    if (this.sentOnce.has(clid)) return { kind: "my-reference", clid };
    this.sentOnce.add(clid);
    return {
      kind: "my-reference",
      clid,
      interfaceName: object.interfaceName,
      url: this.options.urlFor?.(object),
    };
  }

  /** Calls `method` on the peer's object `clid` (0: its broker). Fails with FoolscapError. */
  callRemote(
    clid: number,
    method: string,
    args: readonly BananaValue[] = [],
    kwargs: readonly KeywordArgument[] = [],
  ): Promise<BananaValue> {
    if (this.closeReason) return Promise.reject(this.closeReason);
    const reqId = this.nextReqId++;
    const what = `${method} on tub ${this.peerTubId} (clid ${clid})`;
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, { what, resolve, reject });
      this.send(this.encoder.call(reqId, clid, method, args, kwargs));
    });
  }

  /** Hangs up; pending calls fail with `reason`. */
  close(reason?: FoolscapError): void {
    this.shutdown(reason ?? this.lost(`the connection to tub ${this.peerTubId} was closed by this node`));
    this.socket.destroy();
  }

  /** Tells the peer why (a fatal ERROR token), then closes: at once if it does not hang up itself. */
  private hangUp(error: FoolscapError): void {
    this.socket.end(this.encoder.fatalError(error.message));
    this.shutdown(error);
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private lost(message: string): FoolscapError {
    return new FoolscapError("TAHOE_ERR_FOOLSCAP_CONNECTION_LOST", message, {
      hint: "the call may or may not have run on the peer; the node reconnects and tries again",
    });
  }

  private send(data: Uint8Array): void {
    if (!this.closeReason) this.socket.write(data);
  }

  private receive(chunk: Buffer): void {
    if (this.closeReason) return;
    this.lastReceived = Date.now();
    let messages: BananaMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      const error = err instanceof FoolscapError ? err : this.lost(String(err));
      this.hangUp(error);
      return;
    }
    for (const message of messages) this.dispatch(message);
  }

  private dispatch(message: BananaMessage): void {
    switch (message.type) {
      case "ping":
        this.send(this.encoder.pong(message.n));
        return;
      case "pong":
        return;
      case "fatal":
        this.shutdown(
          new FoolscapError(
            "TAHOE_ERR_FOOLSCAP_BANANA",
            `tub ${this.peerTubId} gave up on the connection: ${message.message}`,
            {
              hint: "the peer found something wrong with what this node sent; it closes the connection",
            },
          ),
        );
        this.socket.destroy();
        return;
      case "answer":
      case "error":
        this.settle(message);
        return;
      case "call": {
        const bad =
          this.badReferenceIn(message.args) ?? this.badReferenceIn(message.kwargs.map(([, v]) => v));
        if (bad) {
          this.hangUp(bad);
          return;
        }
        // Started in arrival order, answered when ready (foolscap does not wait for one call's
        // result before delivering the next, so a call waiting on a callback cannot deadlock).
        void this.runCall(message);
      }
    }
  }

  private settle(message: Extract<BananaMessage, { type: "answer" | "error" }>): void {
    const pending = this.pending.get(message.reqId);
    if (!pending) return; // an answer to a call we no longer wait for: foolscap ignores it too
    this.pending.delete(message.reqId);
    if (message.type === "answer") {
      const bad = this.badReferenceIn([message.value]);
      if (bad) {
        pending.reject(bad);
        return;
      }
      pending.resolve(message.value);
    } else pending.reject(new FoolscapRemoteError(pending.what, failureOf(message.failure)));
  }

  /** A reference whose URL names another tub: foolscap's "inbound reference claims bad tubid". */
  private badReferenceIn(values: readonly BananaValue[]): FoolscapError | undefined {
    const stack = [...values];
    while (stack.length > 0) {
      const v = stack.pop();
      if (typeof v !== "object" || v === null || v instanceof Uint8Array) continue;
      if (v.kind === "my-reference") {
        if (v.url !== undefined && !v.url.startsWith(`pb://${this.peerTubId}@`)) {
          return new FoolscapError(
            "TAHOE_ERR_FOOLSCAP_BANANA",
            `tub ${this.peerTubId} sent a reference that claims another tub id`,
            {
              hint: "the peer is broken or malicious; the connection was closed",
            },
          );
        }
      } else if (v.kind === "dict" || v.kind === "copyable") {
        for (const [k, x] of v.kind === "dict" ? v.entries : v.state) stack.push(k, x);
      } else if (v.kind !== "your-reference") stack.push(...v.items);
    }
    return undefined;
  }

  private async runCall(call: Extract<BananaMessage, { type: "call" }>): Promise<void> {
    let result: BananaValue;
    try {
      result = await this.invoke(call);
    } catch (err) {
      if (call.reqId !== 0) this.send(this.encoder.error(call.reqId, failureCopy(err)));
      return;
    }
    if (call.reqId !== 0) this.send(this.encoder.answer(call.reqId, result));
  }

  private async invoke(call: Extract<BananaMessage, { type: "call" }>): Promise<BananaValue> {
    if (call.objId === 0) return this.brokerCall(call.method, call.kwargs);
    const target = this.myObjects.get(call.objId);
    if (!target) throw violation(`unknown CLID ${call.objId}`);
    return target.callLocal(call.method, call.args, call.kwargs);
  }

  /** RIBroker: what the peer may ask of this side's broker (clid 0). */
  private brokerCall(method: string, kwargs: DecodedKeyword[]): BananaValue {
    const kw = new Map(kwargs);
    if (method === "getReferenceByName") {
      const name = kw.get("name");
      if (!(name instanceof Uint8Array)) throw violation("getReferenceByName needs name= bytes");
      const text = bytesText(name);
      const object = this.options.lookupName?.(text);
      if (!object) throw violation(`unable to find reference for name starting with '${text.slice(0, 2)}'`);
      return this.referenceFor(object);
    }
    if (method === "decref" || method === "decgift") return null; // we never free: one entry per connection
    throw violation(`the broker has no method '${method.slice(0, 60)}'`);
  }

  private startIdleTimer(): void {
    const keepaliveMs = this.options.keepaliveMs ?? 240_000;
    const disconnectMs = this.options.disconnectMs;
    const tick = Math.min(keepaliveMs, disconnectMs ?? keepaliveMs);
    let pinged = false;
    this.idleTimer = setInterval(
      () => {
        const idle = Date.now() - this.lastReceived;
        if (disconnectMs !== undefined && idle >= disconnectMs) {
          this.close(this.lost(`tub ${this.peerTubId} sent nothing for ${Math.round(idle / 1000)} s`));
        } else if (idle >= keepaliveMs && !pinged) {
          pinged = true;
          this.send(this.encoder.ping());
        } else if (idle < keepaliveMs) pinged = false;
      },
      Math.max(50, Math.floor(tick / 2)),
    );
    this.idleTimer.unref();
  }

  private shutdown(reason: FoolscapError): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    clearInterval(this.idleTimer);
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.resolveClosed(reason);
  }
}

/** What an `error` answer says, as far as foolscap's FailureConstraint lets it say. */
function failureOf(value: BananaValue): RemoteFailure {
  if (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    value.kind === "copyable"
  ) {
    const field = (name: string, max: number) => {
      const v = value.state.find(([k]) => k instanceof Uint8Array && bytesText(k) === name)?.[1];
      if (v instanceof Uint8Array) return bytesText(v).slice(0, max);
      return typeof v === "string" ? v.slice(0, max) : "";
    };
    return { type: field("type", 200) || "unknown", value: field("value", 1000) };
  }
  return { type: "unknown", value: `an error answer of type ${describeType(value)}` };
}

/** A Failure copy for an error answer: value, type, traceback and parents, all bytes. */
function failureCopy(err: unknown): BananaValue {
  const isViolation = err instanceof FoolscapError && err.code === "TAHOE_ERR_FOOLSCAP_VIOLATION";
  const type = isViolation
    ? VIOLATION
    : err instanceof FoolscapError
      ? `lafs.${err.code}`
      : "builtins.Exception";
  const value = (err instanceof Error ? err.message : String(err)).slice(0, 1000);
  return {
    kind: "copyable",
    className: "twisted.python.failure.Failure",
    state: [
      [bytes("value"), bytes(value)],
      [bytes("type"), bytes(type)],
      [bytes("traceback"), bytes("")],
      [bytes("parents"), list(bytes(type))],
    ],
  };
}
