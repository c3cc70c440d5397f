/**
 * Products: A_Product of API_PRODUCT_SRV with its descriptions (to_Description: the title in the configured
 * language) and its sales data per sales organization and distribution channel (to_SalesDelivery: whether
 * it is sold in the configured sales area). Incremental on LastChangeDateTime (Edm.DateTimeOffset), read
 * in (LastChangeDateTime, Product) order. S/4HANA stamps the product when its descriptions or sales data
 * change through the product master.
 *
 * The product master holds no selling price: prices are pricing condition records (service
 * API_SLSPRICINGCONDITIONRECORD_SRV), not read by this connector; every variant is read with the price 0
 * (docs/connectors/s4hana.md says what that means for a flow).
 */
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { dateTimeOffsetLiteral, decimal, fromV2Date } from "../odata.ts";

const SELECT = [
  "Product",
  "ProductType",
  "ProductGroup",
  "BaseUnit",
  "GrossWeight",
  "WeightUnit",
  "ProductStandardID",
  "InternationalArticleNumberCat",
  "IsMarkedForDeletion",
  "CrossPlantStatus",
  "CreationDate",
  "LastChangeDateTime",
  "to_Description/Language",
  "to_Description/ProductDescription",
  "to_SalesDelivery/ProductSalesOrg",
  "to_SalesDelivery/ProductDistributionChnl",
  "to_SalesDelivery/ProductSalesStatus",
  "to_SalesDelivery/IsMarkedForDeletion",
] as const;
const EXPAND = ["to_Description", "to_SalesDelivery"] as const;

const results = (v: unknown): S4Row[] =>
  Array.isArray((v as { results?: unknown } | null)?.results) ? (v as { results: S4Row[] }).results : [];

/** The product's last change: LastChangeDateTime, or its creation day when S/4HANA left it empty. */
export function productUpdatedAt(row: S4Row): string {
  return fromV2Date(row.LastChangeDateTime) ?? fromV2Date(row.CreationDate) ?? "1970-01-01T00:00:00.000Z";
}

const GRAMS: Record<string, number> = { KG: 1000, G: 1, GM: 1, LB: 453.59237, TO: 1_000_000 };

export function productOf(ctx: S4HanaContext, row: S4Row): Product {
  const { config } = ctx;
  const sku = String(row.Product);
  const descriptions = results(row.to_Description);
  const title =
    descriptions.find((d) => d.Language === config.language)?.ProductDescription ??
    descriptions.find((d) => typeof d.ProductDescription === "string" && d.ProductDescription !== "")
      ?.ProductDescription;
  const area = results(row.to_SalesDelivery).find(
    (s) =>
      s.ProductSalesOrg === config.salesOrganization &&
      s.ProductDistributionChnl === config.distributionChannel,
  );
  // Not sold in the configured sales area: a draft; marked for deletion or blocked for sales: archived.
  const status =
    row.IsMarkedForDeletion === true || area?.IsMarkedForDeletion === true || area?.ProductSalesStatus
      ? "archived"
      : area
        ? "active"
        : "draft";
  const weight = decimal(row.GrossWeight);
  const factor = GRAMS[String(row.WeightUnit ?? "")];
  const grams = weight !== null && factor !== undefined ? Math.round(Number(weight) * factor) : undefined;
  const gtin =
    typeof row.ProductStandardID === "string" && row.ProductStandardID !== ""
      ? row.ProductStandardID
      : undefined;
  const attributes: Record<string, string> = {};
  for (const [k, f] of [
    ["productType", "ProductType"],
    ["productGroup", "ProductGroup"],
    ["baseUnit", "BaseUnit"],
  ] as const) {
    if (typeof row[f] === "string" && row[f] !== "") attributes[k] = row[f] as string;
  }
  return {
    source: ctx.name,
    sourceId: sku,
    updatedAt: productUpdatedAt(row),
    key: sku,
    title: typeof title === "string" && title !== "" ? title : sku,
    status,
    currency: config.currency,
    categoryPath: [],
    attributes,
    images: [],
    components: [],
    variants: [
      {
        sku,
        price: "0",
        options: {},
        ...(gtin ? { barcode: gtin } : {}),
        ...(grams !== undefined && grams > 0 ? { weightGrams: grams } : {}),
      },
    ],
  };
}

export function productStream(ctx: S4HanaContext): Stream<"product", S4Row> {
  return {
    entity: "product",
    sorted: true,
    list: (req) =>
      ctx.client.list("API_PRODUCT_SRV", "A_Product", {
        ...(req.since
          ? { filter: `LastChangeDateTime ge ${dateTimeOffsetLiteral(req.since.updatedAt)}` }
          : {}),
        orderby: "LastChangeDateTime asc,Product asc",
        select: SELECT,
        expand: EXPAND,
        pageSize: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      }),
    get: (id) => ctx.client.get("API_PRODUCT_SRV", "A_Product", id, { select: SELECT, expand: EXPAND }),
    idOf: (row) => String(row.Product),
    updatedAtOf: productUpdatedAt,
    toCanonical: (row) => productOf(ctx, row),
  };
}
