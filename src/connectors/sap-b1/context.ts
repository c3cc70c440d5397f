import type { SapB1Client } from "./client.ts";
import type { SapB1Config } from "./config.ts";

/** What a connection's streams and writers share. */
export interface SapB1Context {
  name: string;
  config: SapB1Config;
  client: SapB1Client;
}
