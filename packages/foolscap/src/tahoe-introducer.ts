import {
  type BananaDict,
  type BananaSequence,
  type BananaValue,
  bytes,
  dict,
  isSequence,
  list,
  tuple,
} from "./values.js";

/**
 * The names and value shapes of Tahoe-LAFS's introducer RemoteInterfaces (spec §9), shared by
 * the introducer's client (@lafs/introducer-client) and the introducer (@lafs/introducer).
 */

/** The interface Tahoe's introducer serves at the swissnum of its fURL (spec §9.1). */
export const INTRODUCER_INTERFACE = "RIIntroducerPublisherAndSubscriberService_v2.tahoe.allmydata.com";
/** The interface the introducer insists a subscriber reference has (spec §7.1). */
export const SUBSCRIBER_INTERFACE = "RIIntroducerSubscriberClient_v2.tahoe.allmydata.com";
/** The get_version key without which a Tahoe node never publishes or subscribes. */
export const INTRODUCER_V2 = "http://allmydata.org/tahoe/protocols/introducer/v2";

/** A signed announcement `[msg, sig, key]`, each the UTF-8 text Tahoe signs. */
export type SignedTriple = readonly [string, string, string];

/** `subscriber_info` as Tahoe 1.20 sends it: bytes keys, unicode values (spec §9.1). */
export function subscriberInfo(nickname: string, myVersion: string): BananaDict {
  return dict([
    [bytes("app-versions"), list()],
    [bytes("my-version"), myVersion],
    [bytes("nickname"), nickname],
    [bytes("oldest-supported"), "1.0.0"],
    [bytes("version"), 0],
  ]);
}

/** A signed announcement as Tahoe sends it over Foolscap: a tuple of three bytes values. */
export function signedToBanana(signed: SignedTriple): BananaSequence {
  return tuple(bytes(signed[0]), bytes(signed[1]), bytes(signed[2]));
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** The (msg, sig, key) of a publish_v2 or announce_v2 item, or undefined when it has another shape. */
export function signedFromBanana(value: BananaValue): [string, string, string] | undefined {
  if (!isSequence(value) || value.items.length !== 3) return undefined;
  const parts: string[] = [];
  for (const item of value.items) {
    if (!(item instanceof Uint8Array)) return undefined;
    try {
      parts.push(utf8Strict.decode(item));
    } catch {
      return undefined;
    }
  }
  return [parts[0]!, parts[1]!, parts[2]!];
}
