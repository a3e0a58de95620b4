import https from "node:https";
import { authorizationValue } from "../src/index.js";
import type { Response } from "./helpers.js";

/** One HTTPS request to a storage server on 127.0.0.1:port, with its Authorization unless `auth` is false. */
export function requestOn(
  port: number,
  agent: https.Agent,
  swissnum: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string | string[]>; body?: Uint8Array; auth?: boolean } = {},
): Promise<Response> {
  const headers: Record<string, string | string[]> = { ...(options.headers ?? {}) };
  if (options.auth !== false && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization")) {
    headers.Authorization = authorizationValue(swissnum);
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, method, path, headers, agent, servername: "" },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}
