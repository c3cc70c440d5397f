/**
 * The file connector: any entity as CSV, JSON Lines or XML files in a folder on this machine or on an SFTP
 * server. Reads new files by name pattern, each exactly once (its sha256 kept in the store's marks), and
 * moves them to processed/ or failed/; writes one file per batch, atomically. For the systems that
 * exchange files rather than offer an API (older ERPs, WMS, PIM tools). See docs/connectors/file.md.
 */
import { ENTITIES, type EntityName } from "../../core/model.ts";
import { defineConnector } from "../../ports/connector.ts";
import type { EntitySpec, EntitySpecs } from "../../ports/definition.ts";
import { createClient, type FileClient } from "./client.ts";
import { FileConfig } from "./config.ts";
import { discoverFiles } from "./discover.ts";
import { FileStream } from "./stream.ts";
import { FileWriter } from "./writer.ts";

export { FileConfig } from "./config.ts";

/** Every entity can be read and written; which ones a connection has is its configuration's business. */
const entities = Object.fromEntries(
  ENTITIES.map((entity): [EntityName, EntitySpec<EntityName, FileClient>] => [
    entity,
    {
      read: (client) => new FileStream(entity, client) as never,
      write: (client) => new FileWriter(entity, client) as never,
    },
  ]),
) as EntitySpecs<FileClient>;

export const file = defineConnector({
  id: "file",
  version: "1.0.0",
  description:
    "Files in a folder or over SFTP (CSV, JSON Lines, XML; UTF-8, ISO-8859-1, Windows-1252): any entity in, each file exactly once, then moved to processed/ or failed/; any entity out, one file per batch, written atomically",
  config: FileConfig,
  client: (name, config): FileClient => createClient(name, config),
  entities,
  capabilities: { rateModel: "none" },
  discover: (x) => discoverFiles(x),
  connection: (x) => ({
    async check() {
      await x.files.check();
    },
    stats: () => ({ calls: x.files.calls, throttled: 0 }),
    async close() {
      await x.files.close();
    },
    /** Files written so far (deliveries, their copies and key lists in sent/). */
    writes: () => x.files.writes,
  }),
});

export type FileConnector = ReturnType<typeof file.create>;
