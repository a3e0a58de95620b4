/**
 * The grid the simulator page embeds as JSON and the browser bundle reads (browser/simulator-data.ts
 * imports these types), so the two sides cannot drift. No imports: the browser code type-checks it too.
 */
export interface SimulatorData {
  k: number;
  happy: number;
  n: number;
  servers: SimulatorServerData[];
}

export interface SimulatorServerData {
  id: string;
  nickname: string;
  permutationSeed?: string;
  connected: boolean;
  allowed: boolean;
  required: boolean;
  full: boolean;
}
