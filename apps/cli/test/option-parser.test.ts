import { describe, expect, it } from "vitest";
import { CliUsageError, type OptionSpec, parseOptions } from "../src/index.js";

const SPECS: OptionSpec[] = [
  { name: "nickname", short: "n", takesValue: true, help: "" },
  { name: "no-storage", takesValue: false, help: "" },
  { name: "node-directory", short: "d", takesValue: true, help: "" },
  { name: "quiet", short: "q", takesValue: false, help: "" },
  { name: "shares-needed", takesValue: true, help: "" },
  { name: "shares-happy", takesValue: true, help: "" },
];

function parsed(argv: string[], stopAtFirstArg = false) {
  const result = parseOptions(SPECS, argv, { stopAtFirstArg });
  return { values: Object.fromEntries(result.values), args: result.args, help: result.help };
}

describe("parseOptions: Twisted-style forms", () => {
  it.each([
    { argv: ["--nickname=alice"], values: { nickname: "alice" }, args: [] },
    { argv: ["--nickname", "alice"], values: { nickname: "alice" }, args: [] },
    { argv: ["-n", "alice"], values: { nickname: "alice" }, args: [] },
    { argv: ["-nalice"], values: { nickname: "alice" }, args: [] },
    { argv: ["--nickname="], values: { nickname: "" }, args: [] },
    { argv: ["--nickname=a=b"], values: { nickname: "a=b" }, args: [] },
    { argv: ["-n", "-x"], values: { nickname: "-x" }, args: [] },
    { argv: ["--no-storage"], values: { "no-storage": true }, args: [] },
    { argv: ["-qnbob"], values: { quiet: true, nickname: "bob" }, args: [] },
    { argv: ["-qd", "dir"], values: { quiet: true, "node-directory": "dir" }, args: [] },
    { argv: ["--nick=carol"], values: { nickname: "carol" }, args: [] },
    { argv: ["-n", "a", "-n", "b"], values: { nickname: "b" }, args: [] },
    { argv: ["dir", "--no-storage"], values: { "no-storage": true }, args: ["dir"] },
    { argv: ["--", "--no-storage", "-n"], values: {}, args: ["--no-storage", "-n"] },
    { argv: ["-"], values: {}, args: ["-"] },
  ])("$argv", ({ argv, values, args }) => {
    expect(parsed(argv)).toEqual({ values, args, help: false });
  });

  it("stops at the first argument at the global level, leaving the command's options alone", () => {
    expect(parsed(["-q", "create-node", "--bogus", "-n", "x"], true)).toEqual({
      values: { quiet: true },
      args: ["create-node", "--bogus", "-n", "x"],
      help: false,
    });
  });

  it.each([["--help"], ["-h"], ["--no-storage", "--help", "--bogus"], ["-qh"]])(
    "%s asks for help",
    (...argv) => {
      expect(parsed(argv).help).toBe(true);
    },
  );
});

describe("parseOptions: usage errors", () => {
  it.each([
    { argv: ["--bogus"], message: "option --bogus not recognized" },
    { argv: ["-x"], message: "option -x not recognized" },
    { argv: ["--nickname"], message: "option --nickname requires a value" },
    { argv: ["-n"], message: "option -n requires a value" },
    {
      argv: ["--no-storage=yes"],
      message: "option --no-storage is a flag and takes no value (got '--no-storage=yes')",
    },
    {
      argv: ["--shares=3"],
      message: "option --shares is not a unique prefix: it could be --shares-needed, --shares-happy",
    },
    { argv: ["--=x"], message: "option -- not recognized" },
  ])("$argv", ({ argv, message }) => {
    let thrown: unknown;
    try {
      parseOptions(SPECS, argv);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CliUsageError);
    expect((thrown as CliUsageError).code).toBe("TAHOE_ERR_CLI_USAGE");
    expect((thrown as CliUsageError).message).toBe(message);
  });

  it("tells where a misplaced global option belongs", () => {
    const misplaced = new Map([["-d", "-d is a global option"]]);
    expect(() => parseOptions(SPECS.slice(0, 2), ["-d", "x"], { misplaced })).toThrow(
      expect.objectContaining({ message: "option -d not recognized", hint: "-d is a global option" }),
    );
  });
});
