import { createHash } from "node:crypto";

/** foolscap's vocab_v1 (vocab.py): VOCAB index -> the word it stands for. */
const VOCAB_V1 = [
  "none",
  "boolean",
  "reference",
  "dict",
  "list",
  "tuple",
  "set",
  "immutable-set",
  "unicode",
  "set-vocab",
  "add-vocab",
  "call",
  "arguments",
  "answer",
  "error",
  "my-reference",
  "your-reference",
  "their-reference",
  "copyable",
  "instance",
  "module",
  "class",
  "method",
  "function",
  "attrdict",
] as const;

/** The initial vocab tables by index: 0 is empty, 1 is vocab_v1. */
export const INITIAL_VOCAB_TABLES: readonly (readonly string[])[] = [[], VOCAB_V1];

/** The highest table index this implementation knows. */
export const MAX_VOCAB_TABLE_INDEX = INITIAL_VOCAB_TABLES.length - 1;

/** `initial-vocab-table-index`'s hash: the first 4 hex chars of SHA1(b"\0".join(table)). */
export function vocabTableHash(index: number): string {
  const table = INITIAL_VOCAB_TABLES[index];
  if (table === undefined) throw new RangeError(`no initial vocab table ${index}`);
  return createHash("sha1").update(table.join("\0"), "latin1").digest("hex").slice(0, 4);
}

/** A vocab table in both directions, as the encoder and decoder use it. */
export interface VocabTable {
  readonly index: number;
  readonly words: readonly string[];
  readonly byWord: ReadonlyMap<string, number>;
}

export function vocabTable(index: number): VocabTable {
  const words = INITIAL_VOCAB_TABLES[index];
  if (words === undefined) throw new RangeError(`no initial vocab table ${index}`);
  return { index, words, byWord: new Map(words.map((w, i) => [w, i])) };
}
