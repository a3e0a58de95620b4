import type { HeldAnnouncement } from "./registry.js";

export interface SubscriberInfo {
  service: string;
  nickname: string;
  myVersion: string;
  /** Where the subscription comes from; onion clients all show the Tor daemon's address. */
  from: string;
  /** Milliseconds since the epoch. */
  since: number;
}

export interface IntroducerStatus {
  applicationVersion: string;
  protocol: string;
  announcements: {
    serverId: string;
    service: string;
    nickname: string;
    myVersion: string;
    seqnum: number;
    receivedAt: number;
    from: string;
  }[];
  subscribers: SubscriberInfo[];
  /** Refused publish requests since start, by error code. */
  refused: Record<string, number>;
}

export function statusOf(
  held: readonly HeldAnnouncement[],
  subscribers: readonly SubscriberInfo[],
  refused: ReadonlyMap<string, number>,
  applicationVersion: string,
  protocol: string,
): IntroducerStatus {
  return {
    applicationVersion,
    protocol,
    announcements: held.map(({ announcement: a, receivedAt, from }) => ({
      serverId: a.serverId,
      service: a.service,
      nickname: a.nickname,
      myVersion: a.myVersion,
      seqnum: a.seqnum,
      receivedAt,
      from,
    })),
    subscribers: [...subscribers],
    refused: Object.fromEntries(refused),
  };
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Every value on the page comes from peers (nicknames, versions): escape all of it. */
function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function time(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
}

function table(headings: string[], rows: unknown[][]): string {
  if (rows.length === 0) return "<p>None.</p>";
  const head = headings.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The introducer's own small page: who announced what, and who listens. No scripts, no styles from elsewhere. */
export function renderStatusHtml(status: IntroducerStatus): string {
  const refused = Object.entries(status.refused).map(([code, n]) => [code, n]);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Introducer status</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}</style>
</head><body>
<h1>Introducer</h1>
<p>${esc(status.applicationVersion)}, protocol ${esc(status.protocol)}. This page as JSON: <a href="?t=json">?t=json</a>.</p>
<h2>Announcements (${status.announcements.length})</h2>
${table(
  ["server id", "service", "nickname", "version", "seqnum", "received", "from"],
  status.announcements.map((a) => [
    a.serverId,
    a.service,
    a.nickname,
    a.myVersion,
    a.seqnum,
    time(a.receivedAt),
    a.from,
  ]),
)}
<h2>Subscribers (${status.subscribers.length})</h2>
${table(
  ["nickname", "version", "service", "since", "from"],
  status.subscribers.map((s) => [s.nickname, s.myVersion, s.service, time(s.since), s.from]),
)}
<h2>Refused announcements</h2>
${table(["reason", "count"], refused)}
</body></html>
`;
}
