import { describe, expect, it } from "vitest";
import { escapeHtml, html, raw } from "../src/index.js";
import { parseRangeHeader } from "../src/range.js";

describe("html", () => {
  it("escapes interpolated text, arrays and numbers but not nested html or raw", () => {
    const name = `<a href="x">'&'</a>`;
    const out = html`<p title="${name}">${[html`<b>${name}</b>`, 7, null, undefined, false]}${raw("<hr>")}</p>`;
    expect(out.toString()).toBe(
      '<p title="&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"><b>&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;</b>7<hr></p>',
    );
    expect(escapeHtml("a&b")).toBe("a&amp;b");
  });

  it("does not treat an object that merely looks like html output as safe", () => {
    const fake = { toString: () => "<script>" } as unknown as string;
    expect(html`${fake}`.toString()).toBe("&lt;script&gt;");
  });
});

describe("parseRangeHeader", () => {
  it("reads the three single-range forms and clamps the end", () => {
    expect(parseRangeHeader("bytes=0-0", 10)).toEqual({ kind: "span", span: { start: 0, end: 1 } });
    expect(parseRangeHeader("bytes=5-", 10)).toEqual({ kind: "span", span: { start: 5, end: 10 } });
    expect(parseRangeHeader("bytes=-3", 10)).toEqual({ kind: "span", span: { start: 7, end: 10 } });
    expect(parseRangeHeader("bytes=8-100", 10)).toEqual({ kind: "span", span: { start: 8, end: 10 } });
  });

  it("calls ranges outside the file unsatisfiable, an empty file included", () => {
    expect(parseRangeHeader("bytes=10-", 10)).toEqual({ kind: "unsatisfiable" });
    expect(parseRangeHeader("bytes=-0", 10)).toEqual({ kind: "unsatisfiable" });
    expect(parseRangeHeader("bytes=-5", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRangeHeader("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
  });

  it("ignores headers it does not serve, so the whole file is sent", () => {
    for (const header of [undefined, "bytes=1-2,4-5", "bytes=-", "lines=1-2", "bytes=5-1", "bytes=a-b"]) {
      expect(parseRangeHeader(header, 10), String(header)).toEqual({ kind: "whole" });
    }
  });
});
