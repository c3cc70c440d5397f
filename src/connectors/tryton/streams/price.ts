import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { amount, changedAt, dateTimeValue, latest, maxIso } from "../codec.ts";
import { priceListGroup, type TrytonContext } from "../context.ts";
import { id, str } from "../fields.ts";
import { byKeys, stampedPages } from "../paging.ts";

export interface PriceNative {
  list: { id: number; name: string };
  product: { id: number; code: string | undefined };
  price: string | undefined;
  /** Prices from a minimum quantity on, where the list's quantity rules give a different price. */
  tiers: { minQuantity: number; price: string }[];
  currency: string;
  changedAt: string;
}

interface PairKey {
  list: number;
  product: number;
}

const GOODS = [
  ["template.type", "!=", "service"],
  ["template.salable", "=", true],
];

/** `pl<list>p<product>`: ids of one list sort by product id in the shared cursor order. */
const pairId = (k: PairKey) => `pl${k.list}p${k.product}`;
function parsePairId(text: string): PairKey | null {
  const m = /^pl(\d+)p(\d+)$/.exec(text);
  return m ? { list: Number(m[1]), product: Number(m[2]) } : null;
}

/**
 * One Price per sale price list (product.price_list) × salable variant, computed by Tryton itself: the
 * variant's `sale_price_uom` read with the list in the context, so every formula, category and quantity
 * rule of the list applies as it would on a sale. A list serves the customer group named after it (see
 * priceListGroup); a party gets the list as its sale price list.
 *
 * A pair changes when its list or one of the list's lines changes (every product of the list is read
 * again) or when its variant or template changes (that variant in every list).
 */
export function priceStream(ctx: TrytonContext): Stream<"price", PriceNative> {
  const { client } = ctx;

  const loadPairs = async (keys: PairKey[], signal?: AbortSignal): Promise<Map<string, PriceNative>> => {
    const listIds = [...new Set(keys.map((k) => k.list))];
    const [lists, currency, quantityLines] = await Promise.all([
      client.read("product.price_list", listIds, ["name"], { signal }),
      ctx.currency(signal),
      client.searchRead(
        "product.price_list.line",
        [
          ["price_list", "in", listIds],
          ["quantity", ">", 1],
        ],
        ["price_list", "quantity"],
        { signal },
      ),
    ]);
    const out = new Map<string, PriceNative>();
    for (const list of lists) {
      const productIds = keys.filter((k) => k.list === list.id).map((k) => k.product);
      const rows = await client.searchRead(
        "product.product",
        [["id", "in", productIds], ...GOODS],
        [
          "code",
          "sale_price_uom",
          "write_date",
          "create_date",
          "template.write_date",
          "template.create_date",
        ],
        { context: { price_list: list.id }, signal },
      );
      // Quantity breaks: the price Tryton computes at each minimum quantity a line of the list names.
      const breaks = [
        ...new Set(
          quantityLines
            .filter((l) => id(l, "price_list") === list.id)
            .map((l) => Math.ceil(typeof l.quantity === "number" ? l.quantity : 0))
            .filter((q) => q >= 2),
        ),
      ].sort((a, b) => a - b);
      const atQuantity = new Map<number, Map<number, string | undefined>>();
      for (const q of breaks) {
        const priced = await client.searchRead(
          "product.product",
          [["id", "in", rows.map((r) => r.id)]],
          ["sale_price_uom"],
          {
            context: { price_list: list.id, quantity: q },
            signal,
          },
        );
        atQuantity.set(q, new Map(priced.map((r) => [r.id, amount(r.sale_price_uom)])));
      }
      for (const row of rows) {
        const price = amount(row.sale_price_uom);
        const tiers: { minQuantity: number; price: string }[] = [];
        let last = price;
        for (const q of breaks) {
          const p = atQuantity.get(q)?.get(row.id);
          if (p !== undefined && p !== last) tiers.push({ minQuantity: q, price: p });
          last = p ?? last;
        }
        out.set(pairId({ list: list.id, product: row.id }), {
          list: { id: list.id, name: str(list, "name") ?? `price list ${list.id}` },
          product: { id: row.id, code: str(row, "code") },
          price,
          tiers,
          currency,
          changedAt: changedAt(row) ?? "1970-01-01T00:00:00.000Z",
        });
      }
    }
    return out;
  };

  return {
    entity: "price",
    sorted: true,
    async *list(req) {
      const since = req.since?.updatedAt ?? null;
      const [lists, lines] = await Promise.all([
        client.searchRead("product.price_list", [], ["write_date", "create_date"], { signal: req.signal }),
        client.searchRead(
          "product.price_list.line",
          [],
          ["price_list", "product", "write_date", "create_date"],
          {
            signal: req.signal,
          },
        ),
      ]);
      // List-wide changes: the list itself and its lines for every product (or a category); a line for
      // one product changes that product's price only.
      const listAt = new Map<number, string>();
      const pairAt = new Map<string, string>();
      for (const l of lists) listAt.set(l.id, changedAt(l) ?? "1970-01-01T00:00:00.000Z");
      for (const line of lines) {
        const list = id(line, "price_list");
        const at = changedAt(line);
        if (list === undefined || !at) continue;
        const product = id(line, "product");
        if (product !== undefined) {
          const k = pairId({ list, product });
          pairAt.set(k, maxIso(pairAt.get(k), at) as string);
        } else {
          listAt.set(list, maxIso(listAt.get(list), at) as string);
        }
      }
      // A list changed since the cursor re-prices every variant; otherwise only changed variants matter.
      const anyListChanged = !since || [...listAt.values()].some((at) => Date.parse(at) >= Date.parse(since));
      const lineProducts = since
        ? [
            ...new Set(
              lines.flatMap((l) =>
                id(l, "product") && Date.parse(changedAt(l) ?? "1970-01-01T00:00:00Z") >= Date.parse(since)
                  ? [id(l, "product") as number]
                  : [],
              ),
            ),
          ]
        : [];
      const at = since ? dateTimeValue(since) : null;
      const products = await client.searchRead(
        "product.product",
        [
          ...GOODS,
          ...(anyListChanged || !at
            ? []
            : [
                [
                  "OR",
                  ["id", "in", lineProducts],
                  ["write_date", ">=", at],
                  ["create_date", ">=", at],
                  ["template.write_date", ">=", at],
                  ["template.create_date", ">=", at],
                ],
              ]),
        ],
        ["write_date", "create_date", "template.write_date", "template.create_date"],
        { signal: req.signal },
      );
      const entries: [PairKey, string][] = [];
      for (const p of products) {
        const t = p["template."] as Record<string, unknown> | undefined;
        const productAt = latest(p.write_date, p.create_date, t?.write_date, t?.create_date);
        for (const [list, listChange] of listAt) {
          const key = { list, product: p.id };
          entries.push([key, maxIso(productAt, listChange, pairAt.get(pairId(key))) ?? listChange]);
        }
      }
      yield* stampedPages(entries, pairId, req, async (keys) =>
        byKeys(keys, await loadPairs(keys, req.signal), pairId),
      );
    },
    async get(text) {
      const key = parsePairId(text);
      if (!key) return null;
      const found = await loadPairs([key]);
      const native = found.get(text);
      if (!native) return null;
      const [list] = await client.searchRead(
        "product.price_list",
        [["id", "=", key.list]],
        ["write_date", "create_date"],
      );
      const lines = await client.searchRead(
        "product.price_list.line",
        [
          ["price_list", "=", key.list],
          ["product", "in", [null, key.product]],
        ],
        ["write_date", "create_date"],
      );
      const at = maxIso(native.changedAt, list && changedAt(list), ...lines.map(changedAt));
      return { ...native, changedAt: at ?? native.changedAt };
    },
    idOf: (n) => pairId({ list: n.list.id, product: n.product.id }),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): Price {
      const { code, group } = priceListGroup(n.list.name);
      if (!n.product.code) {
        throw new SyncError(
          "data",
          `price of product.product ${n.product.id} in "${n.list.name}": the variant has no code`,
          {
            system: ctx.name,
            field: "sku",
          },
        );
      }
      if (n.price === undefined) {
        throw new SyncError("data", `price list "${n.list.name}" gives no price for ${n.product.code}`, {
          system: ctx.name,
          field: "price",
        });
      }
      return {
        source: ctx.name,
        sourceId: pairId({ list: n.list.id, product: n.product.id }),
        updatedAt: n.changedAt,
        key: `${code}:${n.product.code}`,
        priceList: { code, name: n.list.name, customerGroup: group, currency: n.currency },
        sku: n.product.code,
        price: n.price,
        tiers: n.tiers,
      };
    },
  };
}
