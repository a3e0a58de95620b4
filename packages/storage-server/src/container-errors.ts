import { StorageServerError } from "./errors.js";

/** A share file whose container does not add up; `path` and `problem` feed the corruption log. */
export class CorruptContainerError extends StorageServerError {
  readonly path: string;
  readonly problem: string;

  constructor(path: string, problem: string) {
    super("TAHOE_ERR_STORAGE_SERVER_CORRUPT_CONTAINER", 500, `share file ${path}: ${problem}`, {
      hint: "the share file is damaged or not a Tahoe-LAFS container; move it out of storage/shares and let the client repair the file",
    });
    this.path = path;
    this.problem = problem;
  }
}

export function corruptContainer(path: string, why: string): CorruptContainerError {
  return new CorruptContainerError(path, why);
}
