/**
 * What the configured user may do in its system, asked of the system itself, for `passerelle doctor`.
 *
 * A connector's `permissions(use)` takes which entities the flows read from and write to the connection and
 * answers one `RightCheck` per right those reads and writes need, in the system's own words (an Odoo model's
 * access right, a Vendure permission, a Shopify access scope). A right the system cannot be asked about is
 * `granted: "unknown"` with the reason; it is never guessed.
 */
import type { EntityName } from "../core/model.ts";

/** Which entities the flows of a passerelle.yaml read from and write to one connection. */
export interface ConnectionUse {
  reads: readonly EntityName[];
  writes: readonly EntityName[];
}

export interface RightCheck {
  /** The right as the system names it: `sale.order: create`, `UpdateCatalog or UpdateProduct`, `write_products`. */
  right: string;
  /** What needs it, e.g. `write order, write customer`. */
  neededFor: string;
  granted: boolean | "unknown";
  /** How the system was asked, or why it could not be. */
  how: string;
  /** What to grant, in the system's admin words, when the right is missing. */
  grant?: string;
}

/**
 * The rights `use` needs, from a table of what each entity's read and write calls require (the connector's
 * own calls): one entry per right, with the reads and writes that need it.
 */
export function neededRights(
  use: ConnectionUse,
  table: {
    read: Partial<Record<EntityName, readonly string[]>>;
    write: Partial<Record<EntityName, readonly string[]>>;
  },
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (op: "read" | "write", entities: readonly EntityName[]) => {
    for (const entity of entities) {
      for (const right of table[op][entity] ?? []) {
        const needs = out.get(right) ?? [];
        const what = `${op} ${entity}`;
        if (!needs.includes(what)) needs.push(what);
        out.set(right, needs);
      }
    }
  };
  add("read", use.reads);
  add("write", use.writes);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** Every right `use` needs marked "unknown" with the reason: for a system that cannot be asked. */
export function unknownRights(rights: Map<string, string[]>, why: string): RightCheck[] {
  return [...rights].map(([right, needs]) => ({
    right,
    neededFor: needs.join(", "),
    granted: "unknown" as const,
    how: why,
  }));
}
