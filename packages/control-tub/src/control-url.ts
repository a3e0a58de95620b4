import { formatNurl, parseNurl } from "@lafs/config";
import { ControlTubError } from "./errors.js";

/** Where a local tool finds the control tub: the pin of its certificate, its port and its swissnum. */
export interface ControlUrl {
  spkiHash: string;
  port: number;
  swissnum: string;
}

/** The only address the control tub ever listens on or is reached at. */
export const CONTROL_HOST = "127.0.0.1";

const FORM = "pb://SPKIHASH@127.0.0.1:PORT/SWISSNUM#v=1 (a NURL with one loopback location)";

/** private/control.url's text: a NURL, `pb://SPKIHASH@127.0.0.1:PORT/SWISSNUM#v=1`, and a newline. */
export function formatControlUrl(url: ControlUrl): string {
  return `${formatNurl({
    spkiHash: url.spkiHash,
    hints: [{ kind: "tcp", host: CONTROL_HOST, port: url.port }],
    swissnum: url.swissnum,
    version: 1,
  })}\n`;
}

/** Parses private/control.url; `file` names it in errors. Refuses anything but one 127.0.0.1 location. */
export function parseControlUrl(text: string, file: string): ControlUrl {
  let nurl: ReturnType<typeof parseNurl>;
  try {
    nurl = parseNurl(text);
  } catch (error) {
    throw new ControlTubError("TAHOE_ERR_CONTROL_URL_FILE", `${file}: ${(error as Error).message}`, {
      hint: `the file holds ${FORM}; delete it and start the node to make a new one`,
      cause: error,
    });
  }
  const [hint, ...more] = nurl.hints;
  if (
    hint === undefined ||
    more.length > 0 ||
    hint.kind !== "tcp" ||
    hint.host !== CONTROL_HOST ||
    hint.port === undefined
  ) {
    throw new ControlTubError(
      "TAHOE_ERR_CONTROL_URL_FILE",
      `${file}: the control tub must be at ${CONTROL_HOST} only, but the file names ${nurl.hints.length} location(s) (${nurl.hints.map((h) => `${h.kind}:${h.host}`).join(", ")})`,
      { hint: `the file holds ${FORM}; delete it and start the node to make a new one` },
    );
  }
  return { spkiHash: nurl.spkiHash, port: hint.port, swissnum: nurl.swissnum };
}
