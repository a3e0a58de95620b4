/** What `fn` threw (a parser's TahoeError: code, message, hint); fails the test when it did not throw. */
export function errorOf(fn: () => unknown): { code?: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string; hint?: string };
  }
  throw new Error("expected an error");
}
