import {
  base32Decode,
  base32Encode,
  MAX_SHARES,
  type PlacementServer,
  permutationSeedFor,
  placeShares,
} from "@lafs/placement";
import type { SimulatorServerData } from "../src/control/simulator-data.js";
import { byId, el } from "./dom.js";
import { renderInputError, renderPlacement } from "./render-result.js";
import { parseSimulatorData } from "./simulator-data.js";

const randomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length));

/**
 * The control panel's placement simulator. It calls @lafs/placement exactly as the uploader does,
 * on a copy of the grid the user edits here. It makes no requests and saves nothing.
 */

interface SimServer extends SimulatorServerData {
  /** Added in this page; it exists nowhere else. */
  hypothetical: boolean;
}

const FLAGS = [
  { name: "up", field: "connected", label: "up" },
  { name: "allowed", field: "allowed", label: "allowed" },
  { name: "required", field: "required", label: "required" },
  { name: "full", field: "full", label: "full" },
] as const;

const ENCODING_HINT =
  "Encoding parameters must satisfy 1 <= shares.needed <= shares.happy <= shares.total <= 256 (set on the control panel's Encoding page).";

class InputProblem extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const data = parseSimulatorData(byId("simulator-data").textContent ?? "");
let servers: SimServer[] = [];
let added = 0;
// Row ids must be valid and unique whatever a server id contains; the id itself goes in value=.
let rowSerial = 0;
const rowIds = new Map<SimServer, number>();

function resetServers(): void {
  servers = data.servers.map((s) => ({ ...s, hypothetical: false }));
}

function numberField(id: string, label: string, value: number): HTMLElement {
  return el(
    "span",
    {},
    el("label", { for: id }, label),
    " ",
    el("input", {
      id,
      type: "number",
      min: "1",
      max: String(MAX_SHARES),
      step: "1",
      required: true,
      value: String(value),
    }),
  );
}

function serverRow(server: SimServer): HTMLTableRowElement {
  let serial = rowIds.get(server);
  if (serial === undefined) {
    serial = rowSerial++;
    rowIds.set(server, serial);
  }
  const nameId = `sim-name-${serial}`;
  const name = server.hypothetical
    ? el(
        "span",
        {},
        el("label", { for: nameId, class: "sim-visually-hidden" }, "nickname of hypothetical server"),
        el("input", { id: nameId, type: "text", value: server.nickname, "data-server-id": server.id }),
      )
    : server.nickname;
  const flagCells = FLAGS.map((flag) => {
    const id = `sim-${flag.name}-${serial}`;
    const box = el("input", {
      type: "checkbox",
      id,
      name: flag.name,
      value: server.id,
      checked: server[flag.field],
    });
    box.addEventListener("change", () => {
      server[flag.field] = box.checked;
    });
    // The visible word names the column; the hidden name tells a screen reader which server.
    const who = el("span", { class: "sim-visually-hidden" }, ` (${server.nickname || server.id})`);
    return el("td", {}, box, " ", el("label", { for: id }, flag.label, who));
  });
  const remove = el(
    "button",
    { type: "button", class: "sim-remove", "data-server-id": server.id },
    `Remove ${server.nickname || server.id}`,
  );
  remove.addEventListener("click", () => {
    const index = servers.indexOf(server);
    servers = servers.filter((s) => s !== server);
    renderServers();
    // Keep keyboard users in the table: focus the next row's button, else the add button.
    const buttons = document.querySelectorAll<HTMLButtonElement>("#sim-servers .sim-remove");
    (buttons[Math.min(index, buttons.length - 1)] ?? byId("sim-add")).focus();
  });
  if (server.hypothetical) {
    const input = name instanceof HTMLElement ? name.querySelector("input") : null;
    input?.addEventListener("input", () => {
      server.nickname = input.value;
    });
  }
  return el(
    "tr",
    { "data-server-id": server.id },
    el("td", { class: "sim-server" }, name, server.hypothetical ? " (hypothetical)" : ""),
    el("td", {}, el("code", {}, server.id)),
    ...flagCells,
    el("td", {}, remove),
  );
}

function renderServers(): void {
  const body = byId<HTMLTableSectionElement>("sim-servers-body");
  body.replaceChildren(...servers.map(serverRow));
  if (servers.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: "7" }, "No servers: add one to simulate.")));
  }
}

function readWhole(id: string, name: string): number {
  const text = byId<HTMLInputElement>(id).value.trim();
  if (!/^\d+$/.test(text)) {
    throw new InputProblem(
      `${name} = '${text}' is not a whole number from 1 to ${MAX_SHARES}`,
      ENCODING_HINT,
    );
  }
  return Number(text);
}

function readStorageIndex(): Uint8Array {
  const text = byId<HTMLInputElement>("sim-si").value.trim();
  const bytes = base32Decode(text);
  if (bytes?.length !== 16) {
    throw new InputProblem(
      `storage index '${text}' is not 16 bytes of Tahoe base32 (26 characters a-z, 2-7)`,
      'Press "New random storage index", or paste the storage index of a file (tahoe debug dump-cap shows it).',
    );
  }
  return bytes;
}

/** The servers exactly as the uploader hands them to placement. */
function placementServers(): PlacementServer[] {
  return servers.map((s) => ({
    id: s.id,
    nickname: s.nickname === "" ? undefined : s.nickname,
    permutationSeed: permutationSeedFor(s.id, s.permutationSeed),
    connected: s.connected,
    writable: !s.full,
    existingShares: [],
    allowed: s.allowed,
    required: s.required,
  }));
}

function simulate(): void {
  const result = byId("sim-result");
  try {
    const k = readWhole("sim-k", "shares.needed (k)");
    const happy = readWhole("sim-happy", "shares.happy");
    const n = readWhole("sim-n", "shares.total (N)");
    const storageIndex = readStorageIndex();
    const placement = placeShares({ storageIndex, servers: placementServers(), k, happy, n });
    result.replaceChildren(...renderPlacement(placement, base32Encode(storageIndex)));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = error instanceof Error && "hint" in error ? String(error.hint ?? "") : undefined;
    result.replaceChildren(...renderInputError(message, hint || undefined));
  }
}

function newStorageIndex(): void {
  byId<HTMLInputElement>("sim-si").value = base32Encode(randomBytes(16));
}

function addServer(): void {
  added++;
  const server: SimServer = {
    id: `v0-${base32Encode(randomBytes(32))}`,
    nickname: `new-${added}`,
    connected: true,
    allowed: true,
    required: false,
    full: false,
    hypothetical: true,
  };
  servers.push(server);
  renderServers();
  document.querySelector<HTMLInputElement>(`#sim-servers-body tr:last-child input[type=text]`)?.focus();
}

function build(): void {
  const serversTable = el(
    "table",
    { id: "sim-servers" },
    el("caption", {}, "Servers (a copy of the current grid: changes here are not saved)"),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", class: "sim-server" }, "nickname"),
        el("th", { scope: "col" }, "server id"),
        ...FLAGS.map((flag) => el("th", { scope: "col" }, flag.label)),
        el("th", { scope: "col" }, el("span", { class: "sim-visually-hidden" }, "remove")),
      ),
    ),
    el("tbody", { id: "sim-servers-body" }),
  );
  const add = el("button", { type: "button", id: "sim-add" }, "Add a hypothetical server");
  add.addEventListener("click", addServer);
  const reset = el("button", { type: "button", id: "sim-reset" }, "Reset to the current grid");
  reset.addEventListener("click", () => {
    resetServers();
    renderServers();
    for (const [id, value] of [
      ["sim-k", data.k],
      ["sim-happy", data.happy],
      ["sim-n", data.n],
    ] as const) {
      byId<HTMLInputElement>(id).value = String(value);
    }
  });
  const newSi = el("button", { type: "button", id: "sim-si-new" }, "New random storage index");
  newSi.addEventListener("click", newStorageIndex);

  const form = el(
    "form",
    { id: "sim-form", novalidate: true },
    el(
      "fieldset",
      {},
      el("legend", {}, "Encoding"),
      numberField("sim-k", "shares.needed (k)", data.k),
      " ",
      numberField("sim-happy", "shares.happy", data.happy),
      " ",
      numberField("sim-n", "shares.total (N)", data.n),
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, "File"),
      el("label", { for: "sim-si" }, "storage index (base32)"),
      " ",
      el("input", { id: "sim-si", type: "text", spellcheck: "false", autocomplete: "off" }),
      " ",
      newSi,
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, "Servers"),
      el("div", { class: "sim-grid" }, serversTable),
      add,
      reset,
    ),
    el("button", { type: "submit", id: "sim-run" }, "Simulate upload"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    simulate();
  });

  const app = byId("sim-app");
  app.replaceChildren(
    form,
    el("h2", {}, "Result"),
    el("div", { id: "sim-result", "aria-live": "polite" }, el("p", {}, "Press \u201cSimulate upload\u201d.")),
  );
  resetServers();
  renderServers();
  newStorageIndex();
  byId("sim-static").hidden = true;
  app.hidden = false;
}

build();
