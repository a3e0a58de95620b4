export async function runCli(argv: readonly string[]): Promise<number> {
  process.stdout.write(`tahoe ${argv.join(" ")}\n`);
  return 0;
}
