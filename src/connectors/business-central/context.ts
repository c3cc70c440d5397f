import type { BusinessCentralClient } from "./client.ts";
import type { BusinessCentralConfig } from "./config.ts";

/** What a connection's streams and writers share. */
export interface BusinessCentralContext {
  name: string;
  config: BusinessCentralConfig;
  client: BusinessCentralClient;
}
