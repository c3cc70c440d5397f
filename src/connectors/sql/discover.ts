/**
 * `discover` for SQL: the catalogue's tables and views with their columns, types and nullability, the
 * primary key as `key`, a column telling the row's last change (updated_at, modified, …) with the key as a
 * ready cursor, and the entity a configured read uses the table for.
 */
import type { EntityName } from "../../core/model.ts";
import type { DiscoveredShape } from "../../ports/discovery.ts";
import type { SqlClient } from "./client.ts";

const CHANGE =
  /^(updated|modified|changed|last_?(modified|update|change)|mtime|write_date|date_modified|timestamp|geaendert|geändert|aenderung|änderung|modifie|date_modif|date_maj)/i;

export async function discover(client: SqlClient, signal?: AbortSignal): Promise<DiscoveredShape[]> {
  const cat = await client.catalogue();
  signal?.throwIfAborted();
  const used = new Map<string, { entity: EntityName; cursor: string[] }>();
  for (const [entity, settings] of Object.entries(client.config.entities) as [
    EntityName,
    { read?: { table: string; cursor: string[] } },
  ][]) {
    const read = settings.read;
    if (!read) continue;
    used.set(read.table.includes(".") ? read.table : `${cat.defaultSchema}.${read.table}`, {
      entity,
      cursor: read.cursor,
    });
  }
  const shapes: DiscoveredShape[] = [];
  for (const t of cat.tables.values()) {
    const notes: string[] = [];
    // By its name (English, German, French): SQLite keeps timestamps as text, and a "modified" may be a number.
    const change = t.columns.find((c) => CHANGE.test(c.name));
    const shape: DiscoveredShape = {
      name: t.qualified,
      fields: t.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    };
    const configured = used.get(t.qualified);
    if (configured) shape.entity = configured.entity;
    if (t.key.length > 0) shape.key = [...t.key];
    else
      notes.push(
        t.kind === "view" ? "a view: give read.key, the columns that identify a row" : "no primary key",
      );
    // The cursor the settings read it by, else a column whose name tells a change, then the key.
    const cursor = configured?.cursor ?? (change ? [change.name] : null);
    if (cursor) shape.cursor = [...cursor, ...t.key.filter((k) => !cursor.includes(k))];
    else notes.push("no column tells a row's last change (updated_at): it cannot be read incrementally");
    if (notes.length > 0) shape.notes = notes;
    shapes.push(shape);
  }
  return shapes;
}
