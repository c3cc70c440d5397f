import type { AcumaticaClient } from "./client.ts";
import type { AcumaticaConfig } from "./config.ts";

/** What a connection's streams and writers share. */
export interface AcumaticaContext {
  name: string;
  config: AcumaticaConfig;
  client: AcumaticaClient;
}
