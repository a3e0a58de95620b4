// Why the node's logger is the log hub and not pino: `pnpm --filter @lafs/control-tub bench`.
// The node's one log sink is the hub behind `tahoe logs` (structured events in a ring buffer,
// per-follower drop counts), so pino would have to serialize each event and the hub parse it
// back. Prints ns per event and ratios against the hub alone, measured in the same run.
import pino from "pino";
import { createLogHub, redactFields, redactText } from "../src/index.js";

const N = 200_000;
const fields = { server: "v0-abcdefghijklmnopqrstuvwxyz234567", shnum: 3, bytes: 131_072, renewSecret: "s" };

function nsPerEvent(log: (i: number) => void): number {
  for (let i = 0; i < 20_000; i++) log(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) log(i);
  return Number(process.hrtime.bigint() - start) / N;
}

const hub = createLogHub();
const viaHub = hub.logger.child({ component: "storage-client" });
const hubNs = nsPerEvent((i) => viaHub.info(fields, `wrote share ${i}`));

// pino with the same redaction, writing synchronously into a second hub.
const sink = createLogHub().logger;
const intoHub = pino(
  {
    level: "debug",
    base: null,
    formatters: { log: (o: Record<string, unknown>) => redactFields(o) },
    hooks: {
      logMethod(args, method) {
        const last = args.length - 1;
        if (typeof args[last] === "string") args[last] = redactText(args[last] as string);
        return method.apply(this, args);
      },
    },
  },
  {
    write(line: string) {
      const { level: _level, time: _time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      sink.info(rest, String(msg));
    },
  },
).child({ component: "storage-client" });
const pinoHubNs = nsPerEvent((i) => intoHub.info(fields, `wrote share ${i}`));

// pino alone to a synchronous /dev/null destination: what pino costs without the hub.
const alone = pino(
  { level: "debug", base: null, formatters: { log: (o: Record<string, unknown>) => redactFields(o) } },
  pino.destination({ dest: "/dev/null", sync: true }),
).child({ component: "storage-client" });
const pinoNs = nsPerEvent((i) => alone.info(fields, `wrote share ${i}`));

console.log(`log hub (the node's logger)      ${hubNs.toFixed(0)} ns/event  1.00x`);
console.log(
  `pino -> JSON.parse -> log hub    ${pinoHubNs.toFixed(0)} ns/event  ${(pinoHubNs / hubNs).toFixed(2)}x`,
);
console.log(
  `pino alone, sync /dev/null       ${pinoNs.toFixed(0)} ns/event  ${(pinoNs / hubNs).toFixed(2)}x`,
);
