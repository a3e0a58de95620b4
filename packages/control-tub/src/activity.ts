export type ActivityKind = "upload" | "download";

/** One upload or download in progress, as the status page shows it. */
export interface Activity {
  id: number;
  kind: ActivityKind;
  /** What the user called it (a file name or a redacted cap). */
  name: string;
  /** Undefined when the size is not known yet. */
  totalBytes: number | undefined;
  doneBytes: number;
  startedAt: number;
}

export interface ActivityHandle {
  /** Bytes done so far (absolute, not a delta). */
  progress(bytes: number): void;
  /** Finished, failed or cancelled: it leaves the list. */
  done(): void;
}

/** Filled by the node's uploader and downloader; read by the control tub's status. */
export interface ActivityTracker {
  track(kind: ActivityKind, name: string, totalBytes?: number): ActivityHandle;
  /** What is in progress now, oldest first. */
  list(): Activity[];
}

export function createActivityTracker(now: () => number = Date.now): ActivityTracker {
  const active = new Map<number, Activity>();
  let next = 1;
  return {
    track(kind, name, totalBytes) {
      const activity: Activity = { id: next++, kind, name, totalBytes, doneBytes: 0, startedAt: now() };
      active.set(activity.id, activity);
      return {
        progress(bytes) {
          activity.doneBytes = Math.max(activity.doneBytes, bytes);
        },
        done() {
          active.delete(activity.id);
        },
      };
    },
    list: () => [...active.values()].map((a) => ({ ...a })),
  };
}
