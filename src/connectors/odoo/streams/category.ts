import { SyncError } from "../../../core/errors.ts";
import type { Category } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { many2one, str } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { odooToIso } from "../time.ts";

const FIELDS = ["name", "parent_id", "write_date"];

/** Odoo's default root category: a container every category hangs from, not a category of the shop. */
export function isOdooRoot(row: { name: string; parent?: unknown } | undefined): boolean {
  return row !== undefined && row.name === "All" && !row.parent;
}

/**
 * product.category as the category tree. Odoo gives a category no code, so its key is its record id: a
 * rename or a move keeps it. Odoo keeps no order among product categories and their name is not
 * translated, so `position` is left out and `translations` is empty. The default root ("All", no parent)
 * is left out and its children are top-level, as the product stream drops it from a product's path.
 */
export function categoryStream(ctx: OdooContext): Stream<"category", OdooRow> {
  const { client } = ctx;
  const isRoot = (r: OdooRow) => isOdooRoot({ name: str(r, "name") ?? "", parent: many2one(r, "parent_id") });
  return {
    entity: "category",
    sorted: true,
    async *list(req) {
      for await (const page of keysetPages(client, "product.category", [], FIELDS, req)) {
        const kept = page.filter((r) => !isRoot(r));
        if (kept.length > 0) yield kept;
      }
    },
    async get(id) {
      const rows = await client.searchRead("product.category", [["id", "=", Number(id)]], FIELDS);
      const row = rows[0];
      return row === undefined || isRoot(row) ? null : row;
    },
    idOf: (r) => String(r.id),
    updatedAtOf: (r) => odooToIso(String(r.write_date)),
    toCanonical(r): Category {
      const name = str(r, "name");
      if (!name) throw new SyncError("data", `product.category(${r.id}) has no name`, { field: "name" });
      const parent = many2one(r, "parent_id");
      const topLevel = parent === undefined || isOdooRoot({ name: parent.name });
      return {
        source: ctx.name,
        sourceId: String(r.id),
        updatedAt: odooToIso(String(r.write_date)),
        key: String(r.id),
        name,
        ...(topLevel ? {} : { parent: String(parent.id) }),
        translations: {},
      };
    },
  };
}
