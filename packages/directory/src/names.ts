import { DirectoryError } from "./errors.js";

/** Every name is stored and looked up NFC-normalised, as dirnode.py does on every read and write. */
export function normalizeName(name: string): string {
  return name.normalize("NFC");
}

/**
 * A child name from a user: NFC, not empty, no "/". Tahoe's dirnode itself takes any name; its
 * web layer refuses these two with the words used here.
 */
export function checkChildName(name: string, where?: string): string {
  if (typeof name !== "string") {
    throw new DirectoryError(
      "TAHOE_ERR_DIRECTORY_BAD_NAME",
      `a child name must be a string, not a ${typeof name}`,
    );
  }
  const at = where === undefined ? "" : ` (in ${where})`;
  if (name.length === 0) {
    throw new DirectoryError("TAHOE_ERR_DIRECTORY_BAD_NAME", `name= may not be empty${at}`, {
      hint: "Give the child a name of at least one character.",
    });
  }
  if (name.includes("/")) {
    throw new DirectoryError(
      "TAHOE_ERR_DIRECTORY_BAD_NAME",
      `name= may not contain a slash: ${JSON.stringify(name)}${at}`,
      {
        hint: "A child name is one path segment; make the intermediate directories and name the child inside them.",
      },
    );
  }
  return normalizeName(name);
}

/** Python `str` order (by code point), which pack_children sorts by; JavaScript's < compares UTF-16 units. */
export function compareNames(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}
