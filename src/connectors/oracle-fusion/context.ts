import type { FusionClient } from "./client.ts";
import type { FusionConfig } from "./config.ts";

/** What a connection's streams and writers share. */
export interface FusionContext {
  name: string;
  config: FusionConfig;
  client: FusionClient;
}
