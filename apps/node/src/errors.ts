import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes apps/node raises; docs/ERRORS.md says what each one means. */
export type NodeErrorCode =
  | "TAHOE_ERR_NODE_ALREADY_RUNNING"
  | "TAHOE_ERR_NODE_PID_FILE"
  | "TAHOE_ERR_NODE_STORAGE_FURL"
  | "TAHOE_ERR_NODE_PORT_FILE"
  | "TAHOE_ERR_NODE_FILE";

/** A node that cannot start for a reason the operator can fix; the message names the file or port. */
export class NodeError extends TahoeError {
  declare readonly code: NodeErrorCode;

  constructor(code: NodeErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

export function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : undefined;
}
