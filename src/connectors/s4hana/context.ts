import type { S4HanaClient } from "./client.ts";
import type { S4HanaConfig } from "./config.ts";

/** What a connection's streams and writers share. */
export interface S4HanaContext {
  name: string;
  config: S4HanaConfig;
  client: S4HanaClient;
}
