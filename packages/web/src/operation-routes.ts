import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkFlag } from "./check-routes.js";
import { assertCanCheck } from "./deep-check-results.js";
import { WebError } from "./errors.js";
import { renderOperation } from "./operation-pages.js";
import { checkOphandle, OperationTable, retainForOf } from "./operation-table.js";
import { badRequest, type Query, queryOf } from "./request-args.js";
import { type OperationKind, type SlowOperation, startOperation } from "./slow-operations.js";
import type { WebDirectory, WebNode } from "./web-node.js";

export interface OperationLimits {
  /** Handles kept at once (default DEFAULT_MAX_OPERATIONS). */
  readonly maxOperations?: number | undefined;
  /** Manifest entries or unhealthy objects one operation keeps (default DEFAULT_MAX_OPERATION_ITEMS). */
  readonly maxItems?: number | undefined;
}

interface NodeOperations {
  readonly table: OperationTable<SlowOperation>;
  readonly maxItems: number | undefined;
}

/** Each node's table, found by the directory routes that start operations. */
const tables = new WeakMap<WebNode, NodeOperations>();

const START_KINDS: Readonly<Record<string, OperationKind>> = {
  "start-deep-check": "deep-check",
  "start-manifest": "manifest",
  "start-deep-size": "deep-size",
  "start-deep-stats": "deep-stats",
};

/** True for the t= values that start a slow operation on a directory. */
export function isStartOperation(t: string): boolean {
  return Object.hasOwn(START_KINDS, t);
}

/**
 * `POST DIR?t=start-deep-check|start-manifest|start-deep-size|start-deep-stats&ophandle=H`
 * (Tahoe's _POST_start_*): starts the walk in the background and redirects (302) to
 * /operations/H, keeping output=; when_done= redirects there instead.
 */
export async function replyToStartOperation(
  request: FastifyRequest,
  reply: FastifyReply,
  a: {
    t: string;
    node: WebNode;
    dir: WebDirectory;
    query: Query;
    open: (cap: string, signal: AbortSignal) => Promise<WebDirectory>;
  },
): Promise<FastifyReply> {
  const ops = tables.get(a.node);
  const kind = START_KINDS[a.t] as OperationKind;
  if (ops === undefined) {
    throw new WebError("TAHOE_ERR_WEB_NOT_SUPPORTED", 501, `t=${a.t} is not supported here`, {
      hint: "Slow operations need the node's web app (createWebApp), which keeps their handles.",
    });
  }
  const handle = checkOphandle(a.query.ophandle);
  const retainFor = retainForOf(a.query["retain-for"]);
  const check =
    kind === "deep-check"
      ? {
          node: a.node,
          repair: checkFlag(a.query, "repair"),
          verify: checkFlag(a.query, "verify"),
          addLease: checkFlag(a.query, "add-lease"),
        }
      : undefined;
  if (check !== undefined) assertCanCheck(check, `t=${a.t}`);
  ops.table.assertRoom(handle);
  const op = startOperation({ kind, root: a.dir, open: a.open, check, maxItems: ops.maxItems });
  ops.table.add(handle, op, retainFor);
  request.log.debug({ kind }, "slow operation started");
  const output = a.query.output?.trim();
  // when_done= may only lead back into this node (a path), never to another site.
  const whenDone = a.query.when_done?.trim() ?? "";
  const target =
    whenDone.startsWith("/") && !whenDone.startsWith("//") && !whenDone.includes("\\")
      ? whenDone
      : `/operations/${encodeURIComponent(handle)}${output ? `?output=${encodeURIComponent(output)}` : ""}`;
  return reply.code(302).header("Location", target).type("text/plain; charset=utf-8").send(`${target}\n`);
}

async function status(
  request: FastifyRequest<{ Params: { handle: string } }>,
  reply: FastifyReply,
  node: WebNode,
) {
  const ops = tables.get(node) as NodeOperations;
  const handle = checkOphandle(request.params.handle);
  const query = queryOf(request);
  const t = (query.t ?? "status").trim();
  let op: SlowOperation;
  if (t === "cancel" && request.method === "POST") {
    op = ops.table.cancel(handle);
  } else if (t === "status" || t === "") {
    op = ops.table.collect(handle, {
      retainForMs: retainForOf(query["retain-for"]),
      releaseAfterComplete: checkFlag(query, "release-after-complete"),
    });
  } else {
    throw badRequest(
      `bad t=${t.slice(0, 40)} for /operations/${handle}`,
      "GET /operations/H?t=status[&output=JSON], or POST /operations/H?t=cancel.",
    );
  }
  // As Tahoe: an operation that failed answers with its failure (a cancelled one still shows what it found).
  if (op.failure !== undefined) throw op.failure;
  const path = `/operations/${encodeURIComponent(handle)}`;
  const out = renderOperation(op, query.output, node.status(), path);
  return reply.code(200).type(out.type).send(out.body);
}

/**
 * The node's slow-operation handles (Tahoe's /operations): a table per node, its routes, and a
 * stop of every running operation when the app closes.
 */
export function registerOperationRoutes(
  app: FastifyInstance,
  node: WebNode,
  now: () => number,
  limits: OperationLimits = {},
): void {
  const table = new OperationTable<SlowOperation>(now, limits.maxOperations);
  tables.set(node, { table, maxItems: limits.maxItems });
  app.addHook("onClose", async () => table.close());
  const handler = (request: FastifyRequest, reply: FastifyReply) =>
    status(request as FastifyRequest<{ Params: { handle: string } }>, reply, node);
  app.get("/operations/:handle", handler);
  app.post("/operations/:handle", handler);
}
