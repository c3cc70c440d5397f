/**
 * Products: Product Hub items (itemsV2), one variant each, keyed by ItemNumber. Incremental on
 * LastUpdateDate (`q=LastUpdateDate>='…'`), read in (LastUpdateDate, ItemId) order, paged by
 * limit/offset until `hasMore` is false. Prices are not read (price lists are not mapped yet): every variant
 * carries 0 (docs/connectors/oracle-fusion.md).
 */
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { type FusionRow, qLiteral } from "../client.ts";
import type { FusionContext } from "../context.ts";

export function itemUpdatedAt(row: FusionRow): string {
  const raw = row.LastUpdateDate ?? row.CreationDate;
  const t = typeof raw === "string" ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(t) ? "1970-01-01T00:00:00.000Z" : new Date(t).toISOString();
}

export function productOf(ctx: FusionContext, row: FusionRow): Product {
  const sku = String(row.ItemNumber);
  const status = String(row.ItemStatusValue ?? "");
  const attributes: Record<string, string> = {};
  for (const [k, f] of [
    ["itemClass", "ItemClass"],
    ["organization", "OrganizationCode"],
    ["uom", "PrimaryUOMValue"],
  ] as const) {
    if (typeof row[f] === "string" && row[f] !== "") attributes[k] = row[f] as string;
  }
  const title =
    typeof row.ItemDescription === "string" && row.ItemDescription !== "" ? row.ItemDescription : sku;
  return {
    source: ctx.name,
    sourceId: String(row.ItemId),
    updatedAt: itemUpdatedAt(row),
    key: sku,
    title,
    // Not orderable by customers: a draft; Inactive or Obsolete: archived.
    status: /^(Inactive|Obsolete)$/i.test(status)
      ? "archived"
      : row.CustomerOrderFlag === false
        ? "draft"
        : "active",
    currency: ctx.config.currency,
    categoryPath: [],
    attributes,
    images: [],
    components: [],
    variants: [{ sku, price: "0", options: {} }],
  };
}

export function itemStream(ctx: FusionContext): Stream<"product", FusionRow> {
  return {
    entity: "product",
    sorted: true,
    list: (req) =>
      ctx.client.list("itemsV2", {
        ...(req.since
          ? { q: `LastUpdateDate>=${qLiteral(new Date(req.since.updatedAt).toISOString())}` }
          : {}),
        orderBy: "LastUpdateDate:asc,ItemId:asc",
        limit: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      }),
    get: (id) => ctx.client.get("itemsV2", id),
    idOf: (row) => String(row.ItemId),
    updatedAtOf: itemUpdatedAt,
    toCanonical: (row) => productOf(ctx, row),
  };
}
