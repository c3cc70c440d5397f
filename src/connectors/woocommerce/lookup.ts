/** Products and variations by SKU: `GET products?sku=a,b,…` answers both kinds, each with its parent_id. */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { q, type WooClient } from "./client.ts";

/** SKUs per lookup call (they travel comma-separated in the query string). */
export const SKU_CHUNK = 50;

export const SkuRow = z.object({
  id: z.number().int(),
  sku: z.string(),
  type: z.string(),
  parent_id: z.number().int(),
  regular_price: z.string(),
  status: z.string(),
  manage_stock: z.union([z.boolean(), z.literal("parent")]),
  stock_quantity: z.number().int().nullable(),
  backorders: z.enum(["no", "notify", "yes"]),
  /** Only when asked for (`withMeta`). */
  meta_data: z.array(z.object({ key: z.string(), value: z.unknown() })).optional(),
});
export type SkuRow = z.infer<typeof SkuRow>;

const FIELDS = "id,sku,type,parent_id,regular_price,status,manage_stock,stock_quantity,backorders";

/** SKU → the product or variation holding it (all statuses, drafts and private ones too). */
export async function bySku(
  client: WooClient,
  skus: readonly string[],
  withMeta = false,
): Promise<Map<string, SkuRow>> {
  const found = new Map<string, SkuRow>();
  const wanted = [...new Set(skus)];
  for (const s of wanted) {
    if (s.includes(",")) {
      throw new SyncError(
        "data",
        `a SKU with a comma cannot be looked up in WooCommerce: ${JSON.stringify(s)}`,
        {
          system: client.name,
          field: "sku",
        },
      );
    }
  }
  for (let i = 0; i < wanted.length; i += SKU_CHUNK) {
    const chunk = wanted.slice(i, i + SKU_CHUNK);
    const rows = await client.get(
      `/products?${q({ sku: chunk.join(","), status: "any", per_page: 100, _fields: withMeta ? `${FIELDS},meta_data` : FIELDS })}`,
      z.array(SkuRow),
      "products by SKU",
    );
    for (const r of rows) if (chunk.includes(r.sku)) found.set(r.sku, r);
  }
  return found;
}

/** The REST path of a product or a variation. */
export const pathOf = (row: Pick<SkuRow, "id" | "parent_id" | "type">): string =>
  row.type === "variation" && row.parent_id > 0
    ? `/products/${row.parent_id}/variations/${row.id}`
    : `/products/${row.id}`;
