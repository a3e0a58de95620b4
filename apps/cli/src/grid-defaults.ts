/** Where `tahoe grid up` puts its nodes, and how many storage nodes, when not told. */
export const DEFAULT_GRID_DIR = ".grid";
export const DEFAULT_GRID_SERVERS = 5;
