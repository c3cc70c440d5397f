import type { NetSuiteClient } from "./client.ts";
import type { NetSuiteConfig } from "./config.ts";

/** What a connection's streams and writers share. */
export interface NetSuiteContext {
  name: string;
  config: NetSuiteConfig;
  client: NetSuiteClient;
}
