/** How many characters of the key part of an id a message shows: enough to tell servers apart. */
const SHORT_ID_KEY_CHARS = 8;
/** How many servers a message names before it says "and N more". */
const MAX_NAMED = 5;

/** `v0-abcdefgh…`: a server id short enough for a sentence. */
export function shortServerId(id: string): string {
  const keep = id.startsWith("v0-") ? 3 + SHORT_ID_KEY_CHARS : SHORT_ID_KEY_CHARS;
  return id.length > keep ? `${id.slice(0, keep)}…` : id;
}

/** `'alice' (v0-abcdefgh…)`, or the short id alone when the server has no nickname. */
export function serverLabel(server: { readonly id: string; readonly nickname?: string | undefined }): string {
  const short = shortServerId(server.id);
  return server.nickname ? `'${server.nickname}' (${short})` : short;
}

/** Names a list of servers in one phrase, capped so a refusal on a large grid stays readable. */
export function nameServers(labels: readonly string[]): string {
  if (labels.length <= MAX_NAMED) return labels.join(", ");
  return `${labels.slice(0, MAX_NAMED).join(", ")} and ${labels.length - MAX_NAMED} more`;
}
