import type { SimulatorData, SimulatorServerData } from "../src/control/simulator-data.js";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

function parseServer(value: unknown, position: number): SimulatorServerData {
  if (!isObject(value) || typeof value.id !== "string") {
    throw new Error(`simulator data: server #${position + 1} has no id`);
  }
  const seed = value.permutationSeed;
  return {
    id: value.id,
    nickname: typeof value.nickname === "string" ? value.nickname : "",
    ...(typeof seed === "string" && seed !== "" ? { permutationSeed: seed } : {}),
    connected: value.connected === true,
    allowed: value.allowed === true,
    required: value.required === true,
    full: value.full === true,
  };
}

/** Reads the JSON block; the page and the bundle ship together, so a mismatch is a bug, not user input. */
export function parseSimulatorData(text: string): SimulatorData {
  const value: unknown = JSON.parse(text);
  if (!isObject(value) || !Array.isArray(value.servers)) throw new Error("simulator data: no server list");
  const whole = (name: string): number => {
    const n = value[name];
    if (typeof n !== "number" || !Number.isInteger(n)) throw new Error(`simulator data: no ${name}`);
    return n;
  };
  return {
    k: whole("k"),
    happy: whole("happy"),
    n: whole("n"),
    servers: value.servers.map(parseServer),
  };
}
