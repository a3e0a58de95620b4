import { type ErrorCode, TahoeError, type TahoeErrorOptions } from "@lafs/interface";

export type WebErrorCode =
  | "TAHOE_ERR_WEB_BAD_CAP"
  | "TAHOE_ERR_WEB_BAD_REQUEST"
  | "TAHOE_ERR_WEB_NOT_FOUND"
  | "TAHOE_ERR_WEB_RANGE"
  | "TAHOE_ERR_WEB_TOO_LARGE"
  | "TAHOE_ERR_WEB_LISTEN"
  | "TAHOE_ERR_WEB_NOT_STARTED"
  | "TAHOE_ERR_WEB_CROSS_SITE"
  | "TAHOE_ERR_WEB_UPLOAD_FORBIDDEN"
  | "TAHOE_ERR_WEB_BAD_ENCODING"
  | "TAHOE_ERR_WEB_BAD_FORM"
  | "TAHOE_ERR_WEB_DISCONNECTED"
  | "TAHOE_ERR_WEB_HEADERS_TOO_LARGE"
  | "TAHOE_ERR_WEB_URL_TOO_LONG"
  | "TAHOE_ERR_WEB_TIMEOUT"
  | "TAHOE_ERR_WEB_NOT_SUPPORTED"
  | "TAHOE_ERR_WEB_NOT_WRITABLE"
  | "TAHOE_ERR_WEB_CONFLICT"
  | "TAHOE_ERR_WEB_NEED_OPHANDLE"
  | "TAHOE_ERR_WEB_UNKNOWN_OPHANDLE"
  | "TAHOE_ERR_WEB_TOO_MANY_OPERATIONS"
  | "TAHOE_ERR_WEB_OPERATION_TOO_LARGE";

/** An error of the web front; `status` is the HTTP status its error page is sent with. */
export class WebError extends TahoeError {
  readonly status: number;

  constructor(code: WebErrorCode, status: number, message: string, options: TahoeErrorOptions = {}) {
    super(code as ErrorCode, message, options);
    this.status = status;
  }
}
