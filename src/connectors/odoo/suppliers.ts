/**
 * Supplier lead times: Odoo keeps a product's vendors in product.supplierinfo (the product module's own
 * model, so every database has it), each with `delay`, the days from ordering to receiving. A row names a
 * template and, optionally, one of its variants; Odoo picks a variant's vendor among the rows of its
 * template that name no variant or that variant, by sequence, among those valid today.
 */
import type { OdooRow } from "./client.ts";
import type { OdooContext } from "./context.ts";
import { many2one, num, str } from "./fields.ts";

const SUPPLIER_FIELDS = ["product_tmpl_id", "product_id", "delay", "sequence", "date_start", "date_end"];

/** Whether the vendor row applies on `day` (YYYY-MM-DD): its dates, where set, include it. */
function validOn(row: OdooRow, day: string): boolean {
  const start = str(row, "date_start");
  const end = str(row, "date_end");
  return (!start || start <= day) && (!end || end >= day);
}

/**
 * Variant id → the lead time (days) of the vendor Odoo would order it from: the first row by sequence
 * (then id) of its template that names no variant or this variant and is valid on `today`. Variants with
 * no such row have none.
 */
export async function leadTimes(
  ctx: OdooContext,
  variants: readonly { product: number; template: number }[],
  today: string,
  signal?: AbortSignal,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (variants.length === 0) return out;
  const rows = await ctx.client.searchRead(
    "product.supplierinfo",
    [["product_tmpl_id", "in", [...new Set(variants.map((v) => v.template))]]],
    SUPPLIER_FIELDS,
    { order: "sequence asc, id asc", signal },
  );
  const valid = rows.filter((r) => validOn(r, today));
  for (const v of variants) {
    const row = valid.find((r) => {
      if (many2one(r, "product_tmpl_id")?.id !== v.template) return false;
      const only = many2one(r, "product_id")?.id;
      return only === undefined || only === v.product;
    });
    if (row) out.set(v.product, Math.max(0, Math.ceil(num(row, "delay"))));
  }
  return out;
}
