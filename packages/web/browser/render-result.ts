import type { Placement, ServerPlan } from "@lafs/placement";
import { panelWords } from "../src/control/panel-words.js";
import { el } from "./dom.js";

const STATE_WORDS: Record<ServerPlan["state"], string> = {
  "not-allowed": "not allowed",
  "not-connected": "down",
  "read-only": "full",
  writable: "up",
};

function shareCell(plan: ServerPlan, share: number): HTMLTableCellElement {
  const classes: string[] = [];
  let text = "";
  let title: string | undefined;
  if (plan.newShares.includes(share)) {
    classes.push("share-new");
    text = "new";
    title = `share ${share} is uploaded to ${plan.label}`;
  } else if (plan.keptShares.includes(share)) {
    classes.push("share-kept");
    text = "kept";
    title = `${plan.label} keeps share ${share}`;
  } else if (plan.ignoredShares.includes(share)) {
    classes.push("share-ignored");
    text = "ignored";
  }
  if (plan.matchedShare === share) classes.push("share-matched");
  return el("td", { class: classes.join(" ") || undefined, title, "data-share": String(share) }, text);
}

/** The picture: servers in permuted order down, shares across; what each server gets. */
function placementTable(placement: Placement): HTMLElement {
  const shares = Array.from({ length: placement.n }, (_, i) => i);
  const head = el(
    "tr",
    {},
    el("th", { scope: "col" }, "rank"),
    el("th", { scope: "col", class: "sim-server" }, "server"),
    el("th", { scope: "col" }, "state"),
    ...shares.map((share) => el("th", { scope: "col" }, String(share))),
    el("th", { scope: "col", class: "sim-server" }, "new shares"),
  );
  const rows = placement.servers.map((plan) =>
    el(
      "tr",
      {
        "data-server-id": plan.id,
        class: plan.candidate ? undefined : "sim-off",
      },
      el("td", {}, String(plan.rank + 1)),
      el("th", { scope: "row", class: "sim-server" }, plan.label),
      el("td", { class: "sim-state" }, `${STATE_WORDS[plan.state]}${plan.required ? ", required" : ""}`),
      ...shares.map((share) => shareCell(plan, share)),
      el("td", { class: "sim-new-shares sim-server" }, plan.newShares.join(", ")),
    ),
  );
  // The grid may scroll sideways on a phone: a focusable, named region scrolls with the keyboard too.
  return el(
    "div",
    { class: "sim-grid", tabindex: "0", role: "region", "aria-label": "Share placement" },
    el(
      "table",
      { id: "sim-placement" },
      el(
        "caption",
        {},
        "Shares (columns) by server, in the permuted order of this storage index. ",
        "\u201cnew\u201d = uploaded there; outlined = the share the server counts for in happiness; ",
        "grey rows are servers the uploader would not use.",
      ),
      el("thead", {}, head),
      el("tbody", {}, ...rows),
    ),
  );
}

export function renderPlacement(placement: Placement, storageIndex: string): HTMLElement[] {
  const outcome = placement.ok
    ? el(
        "div",
        { id: "sim-outcome", class: "sim-ok", "data-ok": "true" },
        el("p", {}, el("strong", {}, "Upload would succeed.")),
      )
    : el(
        "div",
        { id: "sim-outcome", class: "sim-refused", "data-ok": "false" },
        el("p", {}, el("strong", {}, "Upload refused:")),
        el(
          "ul",
          { id: "sim-refusals" },
          ...placement.refusals.map((refusal) =>
            el(
              "li",
              { "data-code": refusal.code },
              el("span", { class: "sim-message" }, refusal.message),
              el("br"),
              el("span", { class: "hint sim-hint" }, panelWords(refusal.hint)),
              " ",
              el("code", {}, refusal.code),
            ),
          ),
        ),
      );
  const happiness = el(
    "p",
    {
      id: "sim-happiness",
      "data-happiness": String(placement.happiness),
      "data-happy": String(placement.happy),
    },
    `Happiness reached: ${placement.happiness} of shares.happy = ${placement.happy} `,
    `(k = ${placement.k}, N = ${placement.n}); ${placement.serversWithShares} server(s) would hold shares.`,
  );
  const homeless =
    placement.homelessShares.length > 0
      ? el("p", { id: "sim-homeless" }, `Shares no server can take: ${placement.homelessShares.join(", ")}.`)
      : null;
  const si = el("p", {}, "Storage index: ", el("code", {}, storageIndex));
  return [outcome, happiness, ...(homeless ? [homeless] : []), si, placementTable(placement)];
}

/** Input placement (or the page) cannot use: the same message and hint the uploader would give. */
export function renderInputError(message: string, hint: string | undefined): HTMLElement[] {
  return [
    el(
      "div",
      { id: "sim-outcome", class: "sim-refused", "data-ok": "false" },
      el("p", {}, el("strong", {}, "Cannot simulate: "), el("span", { class: "sim-message" }, message)),
      hint ? el("p", { class: "hint sim-hint" }, panelWords(hint)) : null,
    ),
  ];
}
