/** A service the node composes: started in dependency order, stopped in reverse. */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}
