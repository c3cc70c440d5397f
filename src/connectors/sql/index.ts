/**
 * The SQL connector: an ERP's own database (PostgreSQL, MySQL/MariaDB, SQLite) as a source and a target.
 * Per entity, a table or view read incrementally by its cursor columns with keyset paging, child tables
 * loaded into array fields, and writes as upserts (child rows replaced) or rows of a staging table.
 * Parameterised queries only; every name checked against the database's catalogue; reads in read-only
 * sessions, and a connection that writes nothing never opens another. See docs/connectors/sql.md.
 */
import { sql } from "kysely";
import { defineConnector } from "../../ports/connector.ts";
import type { ConfigProblem } from "../../ports/definition.ts";
import { everyEntity } from "../rows.ts";
import { SqlClient } from "./client.ts";
import { SqlConfig } from "./config.ts";
import { discover } from "./discover.ts";
import { SqlStream } from "./stream.ts";
import { SqlWriter } from "./writer.ts";

export { SqlConfig } from "./config.ts";

const entities = everyEntity<SqlClient>(
  (entity, client) => new SqlStream(entity, client),
  (entity, client) => new SqlWriter(entity, client),
);

export const sqlConnector = defineConnector({
  id: "sql",
  version: "1.0.0",
  description:
    "An ERP's database (PostgreSQL, MySQL/MariaDB, SQLite): any entity read from a table or view by its cursor columns with keyset paging, child rows into lists; written as upserts with child rows replaced, or into a staging table; parameterised queries, names checked against the catalogue, read-only sessions",
  config: SqlConfig,
  client: (name, config): SqlClient => new SqlClient(name, config),
  entities,
  capabilities: { rateModel: "none" },
  connection: (x) => {
    // The database server's version, read by each health check: the "API" a SQL connection speaks.
    let server: string | null = null;
    return {
      async check() {
        await x.query((db) => sql`select 1 as ok`.execute(db));
        const q =
          x.dialect.name === "sqlite"
            ? sql<{ v: string }>`select sqlite_version() as v`
            : sql<{ v: string }>`select version() as v`;
        const rows = await x.query((db) => q.execute(db));
        server = String(rows.rows[0]?.v ?? "") || null;
        await x.validate();
      },
      apiVersion: () => ({
        api: `SQL (${x.dialect.name})`,
        version: server ?? "server version not read yet (run the health check or passerelle doctor)",
        supportedUntil: null,
        policy:
          "the database vendor's own support calendar applies; Passerelle reads no end of support from the server",
      }),
      stats: () => ({ calls: x.calls, throttled: 0 }),
      async close() {
        await x.close();
      },
      /** Statements that changed data so far. */
      writes: () => x.writes,
      /** The client (tests reach the read-only session through it). */
      client: x,
    };
  },
  /** A flow reading (or writing) an entity the settings give no read (or write) for. */
  checkUse(config, use) {
    const problems: ConfigProblem[] = [];
    for (const [direction, entities] of [
      ["read", use.reads],
      ["write", use.writes],
    ] as const) {
      for (const entity of entities) {
        const settings = config.entities[entity];
        if (settings?.[direction] !== undefined) continue;
        problems.push({
          path: settings ? ["entities", entity, direction] : ["entities", entity],
          message:
            direction === "read"
              ? `a flow reads ${entity} from this connection: give entities.${entity}.read (table, cursor)`
              : `a flow writes ${entity} to this connection: give entities.${entity}.write (table, key, fields, or staging)`,
        });
      }
    }
    return problems;
  },
  discover,
});

export type SqlConnector = ReturnType<typeof sqlConnector.create>;
