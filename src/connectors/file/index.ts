import { defineConnector } from "../../ports/connector.ts";
import { everyEntity } from "../rows.ts";
import { createClient, type FileClient } from "./client.ts";
import { FileConfig } from "./config.ts";
import { discoverFiles } from "./discover.ts";
import { FileStream } from "./stream.ts";
import { FileWriter } from "./writer.ts";

export { FileConfig } from "./config.ts";

const entities = everyEntity<FileClient>(
  (entity, client) => new FileStream(entity, client),
  (entity, client) => new FileWriter(entity, client),
);

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
    apiVersion: () => ({
      api: "files",
      version: "n/a: files have no API version",
      supportedUntil: null,
      policy: "no vendor API",
    }),
    stats: () => ({ calls: x.files.calls, throttled: 0 }),
    async close() {
      await x.files.close();
    },
    /** Files written so far (deliveries, their copies and key lists in sent/). */
    writes: () => x.files.writes,
  }),
});

export type FileConnector = ReturnType<typeof file.create>;
