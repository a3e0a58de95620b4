import { TahoeError } from "@lafs/interface";
import type { ListenerKind } from "./create-options.js";

/**
 * --listen=tor / --listen=i2p need an onion service or I2P destination allocated at create
 * time (DESIGN §5), which transport does not offer yet. Refusing before anything is written
 * keeps the user from getting a node directory that cannot accept connections.
 */
export class ListenUnavailableError extends TahoeError {
  constructor(kind: ListenerKind) {
    const name = kind === "tor" ? "Tor onion service" : "I2P destination";
    super(
      "TAHOE_ERR_CLI_LISTEN_UNAVAILABLE",
      `--listen=${kind} is not available yet: lafs-ts cannot allocate a ${name} at create time.`,
      {
        hint:
          kind === "tor"
            ? "Use --listen=tcp --hostname=NAME, or --listen=none and add --hide-ip to make outbound connections through Tor; " +
              "or set up the onion service yourself and pass --port=tcp:PORT:interface=127.0.0.1 --location=tor:ONION.onion:PORT."
            : "Use --listen=tcp --hostname=NAME or --listen=none; or set up the I2P tunnel yourself and pass " +
              "--port=tcp:PORT:interface=127.0.0.1 --location=i2p:ADDR.b32.i2p.",
      },
    );
  }
}
