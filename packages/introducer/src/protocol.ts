/**
 * The wire protocol both sides speak (docs/introducer-protocol.md). Everything lives under the
 * swissnum path of the introducer's NURL, so only holders of the NURL reach it.
 */
export const PROTOCOL_VERSION = "lafs-introducer-v1";

/** `POST /SWISSNUM/v1/publish` with body `{"ann": [msg, sig, key]}`. */
export const PUBLISH_PATH = "v1/publish";
/** `GET /SWISSNUM/v1/subscribe?service=storage&nickname=...&my-version=...`: one NDJSON stream. */
export const SUBSCRIBE_PATH = "v1/subscribe";
/** The media type of the subscription stream: one JSON event per line. */
export const STREAM_TYPE = "application/x-ndjson";

/** How often an idle stream carries a ping, so both ends notice a dead connection. */
export const DEFAULT_KEEPALIVE_MS = 15_000;

/** The events of a subscription stream, in order: hello, announcements, synced, then updates and pings. */
export type StreamEvent =
  | { type: "hello"; protocol: string; "application-version": string; "keepalive-ms": number }
  | { type: "announcement"; ann: readonly [string, string, string] }
  | { type: "synced"; count: number }
  | { type: "ping" };
