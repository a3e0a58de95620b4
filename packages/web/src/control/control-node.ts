import type { WebServerInfo } from "../web-node.js";

/**
 * What the control panel needs from the node, beyond WebNode. apps/node implements it; web's tests
 * use an in-memory one. Everything here is behind the secret URL.
 */

/** One server as the panel shows it: every server known (announced, cached, static, or only in the files). */
export interface ControlServerInfo extends WebServerInfo {
  /** Base32 permutation seed, so the simulator orders servers exactly as the uploader does. */
  permutationSeed?: string;
  allowed: boolean;
  required: boolean;
  /** False when the allowed tick comes from the default for servers not yet decided. */
  decided: boolean;
  /** The server is known only because servers-allowed / servers-required names it. */
  listedOnly: boolean;
  /** The server said it is read-only or has no space: it takes no new shares. */
  full: boolean;
}

/** A mistake in a hand-edited servers-allowed / servers-required, shown with its line. */
export interface ControlFileIssue {
  file: string;
  line: number;
  message: string;
}

export interface ControlServers {
  servers: ControlServerInfo[];
  /** Whether servers not yet decided may be used for uploads. */
  newServersAllowed: boolean;
  /** Where that default comes from. */
  newServersAllowedSource: SettingSource;
  issues: ControlFileIssue[];
}

export type SettingSource = "default" | "tahoe.cfg" | "control panel";

export interface ControlEncoding {
  k: number;
  happy: number;
  n: number;
  sources: { k: SettingSource; happy: SettingSource; n: SettingSource };
  /** Problems of control-panel.json (then tahoe.cfg's values apply), shown with their line. */
  issues?: ControlFileIssue[];
}

export interface WebControl {
  /**
   * Whether `candidate` is the current secret of private/web.secret: read on every call, compared
   * in constant time, false once an idle timeout retired it.
   */
  secretMatches(candidate: string): Promise<boolean>;
  servers(): Promise<ControlServers>;
  /**
   * Rewrites servers-allowed and servers-required atomically and records which servers are decided:
   * `shown` (the servers the page listed), or every server known now when absent. Throws a TahoeError
   * when control-panel.json is broken (it is never overwritten then).
   */
  saveServers(choice: {
    allowed: string[];
    required: string[];
    newServersAllowed: boolean;
    shown?: string[];
  }): Promise<void>;
  encoding(): Promise<ControlEncoding>;
  /** Throws a TahoeError naming the value and the rule when k/happy/n are invalid. */
  saveEncoding(encoding: { k: number; happy: number; n: number }): Promise<void>;
}
