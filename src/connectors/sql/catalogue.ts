/**
 * The database's own list of tables, views and columns, read once per connection: every table and column
 * name in the settings is checked against it before a query uses it, and `discover` describes it.
 */
import { type RawBuilder, sql } from "kysely";
import { SyncError } from "../../core/errors.ts";
import type { CatalogueColumn } from "./dialects/dialect.ts";

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

export interface Table {
  schema: string;
  name: string;
  /** `schema.name` as the catalogue spells it. */
  qualified: string;
  kind: "table" | "view";
  columns: Column[];
  /** Primary key columns in order; empty for a view or a table without one. */
  key: string[];
  /** The table in a query (quoted by the dialect). */
  ref: RawBuilder<unknown>;
}

export class Catalogue {
  readonly tables = new Map<string, Table>();

  constructor(
    rows: CatalogueColumn[],
    readonly defaultSchema: string,
  ) {
    const pks = new Map<string, { column: string; at: number }[]>();
    for (const r of rows) {
      const qualified = `${r.schema}.${r.table}`;
      let t = this.tables.get(qualified);
      if (!t) {
        t = {
          schema: r.schema,
          name: r.table,
          qualified,
          kind: r.kind,
          columns: [],
          key: [],
          ref: sql.id(r.schema, r.table),
        };
        this.tables.set(qualified, t);
      }
      t.columns.push({ name: r.column, type: r.type, nullable: r.nullable });
      if (r.pk !== null) {
        const list = pks.get(qualified) ?? [];
        list.push({ column: r.column, at: r.pk });
        pks.set(qualified, list);
      }
    }
    for (const [q, list] of pks) {
      const t = this.tables.get(q) as Table;
      t.key = list.sort((a, b) => a.at - b.at).map((k) => k.column);
    }
  }

  /**
   * The table or view a setting names (`items` in the default schema, or `erp.items`); a config error naming
   * the connection, the setting and the name, with the near names, when there is none.
   */
  table(name: string, at: { system: string; setting: string }): Table {
    const qualified = name.includes(".") ? name : `${this.defaultSchema}.${name}`;
    const t = this.tables.get(qualified);
    if (t) return t;
    const names = [...this.tables.keys()];
    const bare = [...this.tables.values()].map((x) =>
      x.schema === this.defaultSchema ? x.name : x.qualified,
    );
    throw new SyncError(
      "config",
      `${at.system}: ${at.setting}: no table or view ${JSON.stringify(name)} in the database${hint(name, [...names, ...bare])}`,
      { system: at.system, field: at.setting },
    );
  }

  /** A column of the table; a config error naming it (and the near names) when the table has none such. */
  column(table: Table, name: string, at: { system: string; setting: string }): Column {
    const c = table.columns.find((x) => x.name === name);
    if (c) return c;
    throw new SyncError(
      "config",
      `${at.system}: ${at.setting}: ${table.qualified} has no column ${JSON.stringify(name)}${hint(
        name,
        table.columns.map((x) => x.name),
      )}`,
      { system: at.system, field: at.setting },
    );
  }
}

/** "; near: a, b" or "; its columns: …" / "" when nothing is close. */
function hint(name: string, candidates: string[]): string {
  const lower = name.toLowerCase();
  const near = [...new Set(candidates)]
    .map((c) => ({ c, d: distance(lower, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(name.length / 3)) || c.toLowerCase().includes(lower))
    .sort((a, b) => a.d - b.d)
    .slice(0, 5)
    .map(({ c }) => c);
  return near.length > 0 ? `; near: ${near.join(", ")}` : "";
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
