/**
 * The baseline of the catalogue push: a minimal script with no engine — no canonical model, no mapping,
 * no validation, no store, no links, no hashes. It reads the same Odoo pages (products 50 at a time,
 * price-list items and stock quants 250 at a time) over plain fetch + JSON-RPC, and writes the same
 * batches with the same GraphQL documents: one productSet per product, prices in quantityPricing batches
 * of 100 per list, stock in inventorySetQuantities batches of 250, finding variants by SKU (50 per call)
 * as any stateless script must. What Passerelle spends beyond this is its own overhead.
 */
import { randomUUID } from "node:crypto";
import {
  INVENTORY_SET,
  PRICE_LIST_CREATE,
  PRICE_LISTS,
  PRODUCT_SET,
  QUANTITY_PRICING_UPDATE,
  VARIANTS_BY_SKU,
} from "../src/connectors/shopify/operations.ts";

type Row = Record<string, unknown> & { id: number };
type Json = Record<string, unknown>;

export interface BaselineCounts {
  products: number;
  prices: number;
  stock: number;
  odooCalls: number;
  shopifyCalls: number;
}

const LOCATION_NAMES: Record<string, string> = { WH: "Main Warehouse", WH2: "East Warehouse" };

export async function runBaseline(env: Record<string, string>): Promise<BaselineCounts> {
  const counts: BaselineCounts = { products: 0, prices: 0, stock: 0, odooCalls: 0, shopifyCalls: 0 };
  const odooUrl = `${env.ODOO_URL}/jsonrpc`;
  const rpc = async (service: string, method: string, args: unknown[]): Promise<unknown> => {
    counts.odooCalls++;
    const res = await fetch(odooUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "call", params: { service, method, args }, id: 1 }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`Odoo: ${body.error.message}`);
    return body.result;
  };
  const uid = await rpc("common", "login", [env.ODOO_DB, env.ODOO_USER, env.ODOO_PASSWORD]);
  const searchRead = async (model: string, domain: unknown[], fields: string[], kw: Json = {}) =>
    (await rpc("object", "execute_kw", [
      env.ODOO_DB,
      uid,
      env.ODOO_PASSWORD,
      model,
      "search_read",
      [domain],
      { fields, ...kw },
    ])) as Row[];
  const gql = async (query: string, variables: Json): Promise<Json> => {
    counts.shopifyCalls++;
    const res = await fetch(env.SHOPIFY_ENDPOINT as string, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-shopify-access-token": env.SHOPIFY_ACCESS_TOKEN as string,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Json; errors?: unknown };
    if (body.errors || !body.data) throw new Error(`Shopify: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const m2o = (v: unknown): number => (Array.isArray(v) ? Number(v[0]) : 0);
  /** Keyset pages by id of one model. */
  async function* pages(model: string, domain: unknown[], fields: string[], size: number) {
    let after = 0;
    for (;;) {
      const rows = await searchRead(model, [...domain, ["id", ">", after]], fields, {
        limit: size,
        order: "id asc",
      });
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < size) return;
      after = (rows[rows.length - 1] as Row).id;
    }
  }
  const variantsBySku = async (skus: string[]) => {
    const out = new Map<string, { id: string; inventoryItemId: string }>();
    for (let i = 0; i < skus.length; i += 50) {
      const chunk = skus.slice(i, i + 50);
      const data = await gql(VARIANTS_BY_SKU, {
        first: chunk.length * 2,
        query: chunk.map((s) => `sku:"${s}"`).join(" OR "),
      });
      const nodes = (
        data.productVariants as { nodes: { id: string; sku: string; inventoryItem: { id: string } }[] }
      ).nodes;
      for (const n of nodes) out.set(n.sku, { id: n.id, inventoryItemId: n.inventoryItem.id });
    }
    return out;
  };

  // Products: a page of templates, their variants and attribute values, one productSet each.
  for await (const templates of pages(
    "product.template",
    [
      ["type", "!=", "service"],
      ["active", "in", [true, false]],
    ],
    ["name", "default_code", "description_sale", "active"],
    50,
  )) {
    const ids = templates.map((t) => t.id);
    const [variants, values] = await Promise.all([
      searchRead(
        "product.product",
        [
          ["product_tmpl_id", "in", ids],
          ["active", "in", [true, false]],
        ],
        ["product_tmpl_id", "default_code", "barcode", "lst_price", "product_template_attribute_value_ids"],
        { order: "id asc" },
      ),
      searchRead(
        "product.template.attribute.value",
        [["product_tmpl_id", "in", ids]],
        ["name", "attribute_id"],
      ),
    ]);
    const valueById = new Map(values.map((v) => [v.id, v]));
    for (const t of templates) {
      const own = variants.filter((v) => m2o(v.product_tmpl_id) === t.id);
      const opts = own.map((v) => {
        const o: Record<string, string> = {};
        for (const id of v.product_template_attribute_value_ids as number[]) {
          const val = valueById.get(id);
          if (val) o[String((val.attribute_id as unknown[])[1])] = String(val.name);
        }
        return o;
      });
      const names = [...new Set(opts.flatMap((o) => Object.keys(o)))];
      const options =
        names.length > 0
          ? names.map((n) => ({
              name: n,
              values: [...new Set(opts.map((o) => o[n] ?? "-"))].map((name) => ({ name })),
            }))
          : [{ name: "Title", values: [{ name: "Default Title" }] }];
      const key = String(t.default_code);
      await gql(PRODUCT_SET, {
        identifier: null,
        input: {
          title: t.name,
          descriptionHtml: t.description_sale || "",
          status: t.active ? "ACTIVE" : "ARCHIVED",
          handle: key.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
          productOptions: options,
          variants: own.map((v, i) => ({
            optionValues:
              names.length > 0
                ? names.map((n) => ({ optionName: n, name: opts[i]?.[n] ?? "-" }))
                : [{ optionName: "Title", name: "Default Title" }],
            price: Number(v.lst_price).toFixed(2),
            compareAtPrice: null,
            barcode: v.barcode || null,
            inventoryItem: { sku: v.default_code, tracked: true },
          })),
        },
      });
      counts.products++;
    }
  }

  // Prices: a page of base items, their SKUs and tiers; one quantityPricing call per list and 100 variants.
  const lists = new Map<string, string>();
  const known = (await gql(PRICE_LISTS, { after: null })).priceLists as {
    nodes: { id: string; name: string }[];
  };
  for (const l of known.nodes) lists.set(l.name, l.id);
  const odooLists = await searchRead("product.pricelist", [], ["name"]);
  const listCode = new Map(
    odooLists.map((l) => [
      l.id,
      String(l.name)
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-"),
    ]),
  );
  const FIXED = [
    ["applied_on", "=", "0_product_variant"],
    ["compute_price", "=", "fixed"],
  ];
  const ITEM = ["pricelist_id", "product_id", "fixed_price", "min_quantity"];
  for await (const items of pages(
    "product.pricelist.item",
    [...FIXED, ["min_quantity", "<=", 1]],
    ITEM,
    250,
  )) {
    const productIds = [...new Set(items.map((i) => m2o(i.product_id)))];
    const [skus, tiers] = await Promise.all([
      searchRead("product.product", [["id", "in", productIds]], ["default_code"]),
      searchRead(
        "product.pricelist.item",
        [...FIXED, ["min_quantity", ">", 1], ["product_id", "in", productIds]],
        ITEM,
      ),
    ]);
    const skuOf = new Map(skus.map((s) => [s.id, String(s.default_code)]));
    const variants = await variantsBySku([...new Set(skuOf.values())]);
    const byList = new Map<number, Row[]>();
    for (const i of items) byList.set(m2o(i.pricelist_id), [...(byList.get(m2o(i.pricelist_id)) ?? []), i]);
    for (const [pl, rows] of byList) {
      const code = listCode.get(pl) ?? String(pl);
      let listId = lists.get(code);
      if (listId === undefined) {
        const created = await gql(PRICE_LIST_CREATE, {
          input: {
            name: code,
            currency: "EUR",
            parent: { adjustment: { type: "PERCENTAGE_DECREASE", value: 0 } },
          },
        });
        listId = (created.priceListCreate as { priceList: { id: string } }).priceList.id;
        lists.set(code, listId);
      }
      for (let i = 0; i < rows.length; i += 100) {
        const batch = rows.slice(i, i + 100).map((r) => ({
          row: r,
          variantId: variants.get(skuOf.get(m2o(r.product_id)) ?? "")?.id ?? "",
        }));
        await gql(QUANTITY_PRICING_UPDATE, {
          priceListId: listId,
          input: {
            pricesToAdd: batch.map((b) => ({
              variantId: b.variantId,
              price: { amount: Number(b.row.fixed_price).toFixed(2), currencyCode: "EUR" },
            })),
            pricesToDeleteByVariantId: [],
            quantityPriceBreaksToDeleteByVariantId: batch.map((b) => b.variantId),
            quantityPriceBreaksToAdd: batch.flatMap((b) =>
              tiers
                .filter((t) => m2o(t.product_id) === m2o(b.row.product_id) && m2o(t.pricelist_id) === pl)
                .map((t) => ({
                  variantId: b.variantId,
                  minimumQuantity: Math.ceil(Number(t.min_quantity)),
                  price: { amount: Number(t.fixed_price).toFixed(2), currencyCode: "EUR" },
                })),
            ),
            quantityPriceBreaksToDelete: [],
            quantityRulesToAdd: [],
            quantityRulesToDeleteByVariantId: [],
          },
        });
        counts.prices += batch.length;
      }
    }
  }

  // Stock: a page of quants in the warehouses' stock locations, one inventorySetQuantities per page.
  const warehouses = await searchRead("stock.warehouse", [], ["code", "lot_stock_id"]);
  const codeOfLocation = new Map(warehouses.map((w) => [m2o(w.lot_stock_id), String(w.code)]));
  const shopLocations = (await gql("query { locations(first: 250) { nodes { id name } } }", {}))
    .locations as {
    nodes: { id: string; name: string }[];
  };
  const locationId = new Map(shopLocations.nodes.map((l) => [l.name, l.id]));
  for await (const quants of pages(
    "stock.quant",
    [["location_id", "in", [...codeOfLocation.keys()]]],
    ["product_id", "location_id", "quantity", "reserved_quantity"],
    250,
  )) {
    const productIds = [...new Set(quants.map((q) => m2o(q.product_id)))];
    const skus = await searchRead("product.product", [["id", "in", productIds]], ["default_code"]);
    const skuOf = new Map(skus.map((s) => [s.id, String(s.default_code)]));
    const variants = await variantsBySku([...new Set(skuOf.values())]);
    await gql(INVENTORY_SET, {
      key: randomUUID(),
      input: {
        name: "available",
        reason: "correction",
        referenceDocumentUri: "passerelle://inventory",
        quantities: quants.map((q) => ({
          inventoryItemId: variants.get(skuOf.get(m2o(q.product_id)) ?? "")?.inventoryItemId,
          locationId: locationId.get(LOCATION_NAMES[codeOfLocation.get(m2o(q.location_id)) ?? ""] ?? ""),
          quantity: Math.max(0, Number(q.quantity) - Number(q.reserved_quantity)),
          changeFromQuantity: null,
        })),
      },
    });
    counts.stock += quants.length;
  }
  return counts;
}
