/**
 * Canonical Order → a Tryton sale (sale.sale): party and addresses, lines with the shop's prices, shipping and
 * discounts as service lines, quoted and confirmed; found again by the shop's order reference. Over 400
 * lines: a Tryton sale needs its party, addresses and service products resolved before the lines can be
 * priced, and those lookups belong to this writer alone; cancellation is in cancel.ts.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Address, Order, OrderLine } from "../../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import type { TrytonRow } from "../client.ts";
import { amount, bigOf, dateValue, decimal } from "../codec.ts";
import { failure, type TrytonContext } from "../context.ts";
import { bool, id, ids, str } from "../fields.ts";
import { cancelSale } from "./cancel.ts";
import { addressVals, countryIds, findPartyByEmail, sameAddress } from "./customer.ts";

/** Service products that carry shipping and discounts on a sale, by code. */
export const SHIPPING_CODE = "SHIP";
export const DISCOUNT_CODE = "DISCOUNT";

type TaxLine = OrderLine["taxes"][number];

interface Batch {
  products: Map<string, { id: number; unit: number }>;
  /** Percentage taxes: rate as a fraction ("0.19") → id. */
  taxes: { id: number; rate: Big }[];
  existing: TrytonRow[];
  warehouse: number;
  /** ISO code → currency.currency id. */
  currencies: Map<string, number>;
  countries: Map<string, number> | null;
}

/** Tryton stores sale unit prices with 4 decimals. */
const UNIT_DIGITS = 4;

function taxIds(order: Order, taxes: TaxLine[], b: Batch, where: string, system: string): number[] {
  return taxes.map((t) => {
    const rate = new Big(t.rate);
    const match = b.taxes.find((x) => x.rate.eq(rate));
    if (!match) {
      throw new SyncError(
        "permanent",
        `order ${order.key}: Tryton has no percentage tax of ${rate.times(100).toString()}% (${where})`,
        { system, field: "taxes" },
      );
    }
    return match.id;
  });
}

/** A price without the taxes it includes (Tryton adds taxes on top of unit prices). */
function net(price: string, taxes: TaxLine[], included: boolean): string {
  if (!included || taxes.length === 0)
    return new Big(price).round(UNIT_DIGITS, Big.roundHalfUp).toFixed(UNIT_DIGITS);
  const rate = taxes.reduce((sum, t) => sum.plus(t.rate), new Big(0));
  return new Big(price).div(rate.plus(1)).round(UNIT_DIGITS, Big.roundHalfUp).toFixed(UNIT_DIGITS);
}

const roundCents = (v: Big, mode: 0 | 1 | 2 | 3) => v.round(2, mode);

/**
 * Tryton's tax on a sale under `tax_rounding: line`, as `_get_taxes` computes it: the lines' taxes are added, in
 * line order, to one running amount per tax, which is rounded half-to-even (Python's Decimal default) after each
 * line. So whether a line's half-cent tie rounds up depends on the running amount before it, not on the line
 * alone. `RunningTax` holds that amount per tax rate, as Tryton will hold it.
 */
export type RunningTax = Map<string, Big>;

/** Adds one line's taxes to the running amounts, as Tryton will, and returns what each one added. */
function addLineTaxes(running: RunningTax, amount: Big, rates: string[]): void {
  for (const rate of rates) {
    const before = running.get(rate) ?? new Big(0);
    running.set(rate, roundCents(before.plus(amount.times(rate)), Big.roundHalfEven));
  }
}

/**
 * Shops round a half cent their own way per line (Vendure in binary floating point, so 47.50 × 19 % = 9.025
 * can come out as 9.02 while 17.50 × 19 % = 3.325 comes out as 3.33), and Tryton rounds its running amount
 * (above): an order whose line tax lands on a half cent can be a cent apart. The shop states each line's tax,
 * so when Tryton would add a different amount, the unit price is moved by the smallest step Tryton stores
 * (0.0001), up or down: Tryton then adds the shop's cent while the line amount (quantity × price, rounded to
 * cents) stays the same. Lines where that cannot hold are left as they are and the totals check decides.
 * `running` is Tryton's running tax before this line (empty for the first); it is left after this line.
 */
export function matchShopRounding(
  net: string,
  quantity: number,
  taxes: TaxLine[],
  running: RunningTax = new Map(),
): string {
  const price = new Big(net);
  const amount = roundCents(price.times(quantity), Big.roundHalfEven);
  const rates = taxes.map((t) => t.rate);
  const agrees = (p: Big) =>
    taxes.every((t) => {
      const before = running.get(t.rate) ?? new Big(0);
      return roundCents(before.plus(p.times(quantity).times(t.rate)), Big.roundHalfEven).eq(
        before.plus(t.amount),
      );
    });
  let chosen = price;
  if (taxes.length > 0 && price.gt(0) && !agrees(price)) {
    for (const nudged of [price.plus("0.0001"), price.minus("0.0001")]) {
      const sameAmount = roundCents(nudged.times(quantity), Big.roundHalfEven).eq(amount);
      if (nudged.gt(0) && sameAmount && agrees(nudged)) {
        chosen = nudged;
        break;
      }
    }
  }
  addLineTaxes(running, chosen.times(quantity), rates);
  return chosen.eq(price) ? net : chosen.toFixed(UNIT_DIGITS);
}

function saleLines(order: Order, b: Batch, system: string): Record<string, unknown>[] {
  const product = (sku: string, what: string) => {
    const p = b.products.get(sku);
    if (!p) {
      throw new SyncError(
        "permanent",
        `order ${order.key}: no product with code ${JSON.stringify(sku)} in Tryton (${what})`,
        { system, field: "lines.sku" },
      );
    }
    return p;
  };
  const line = (
    sku: string,
    what: string,
    quantity: number,
    price: string,
    taxes: number[],
    description: string,
  ) => {
    const p = product(sku, what);
    return {
      type: "line",
      product: p.id,
      unit: p.unit,
      quantity,
      unit_price: decimal(price),
      description,
      taxes: [["add", taxes]],
    };
  };
  const lines: Record<string, unknown>[] = [];
  // Tryton's running tax over the product lines, in the order they are written (matchShopRounding).
  const running: RunningTax = new Map();
  // A line the shop emptied (cancelled after the order was placed) is not sold.
  for (const l of order.lines.filter((x) => x.quantity > 0)) {
    const tax = taxIds(order, l.taxes, b, `line ${l.sku}`, system);
    const price = net(l.unitPrice, l.taxes, order.taxesIncluded);
    const rates = l.taxes.map((t) => t.rate);
    // The shop's line tax is on the line after its discount; only an undiscounted line can be matched.
    let unit = price;
    if (new Big(l.discount).eq(0)) unit = matchShopRounding(price, l.quantity, l.taxes, running);
    else addLineTaxes(running, new Big(price).times(l.quantity), rates);
    lines.push(line(l.sku, "order line", l.quantity, unit, tax, l.title ?? l.sku));
    // A line discount as its own negative line keeps the exact amount; a percentage would round.
    if (new Big(l.discount).gt(0)) {
      const off = new Big(net(l.discount, l.taxes, order.taxesIncluded)).neg();
      addLineTaxes(running, off, rates);
      lines.push(
        line(DISCOUNT_CODE, "discount line", 1, off.toFixed(UNIT_DIGITS), tax, `Discount on ${l.sku}`),
      );
    }
  }
  if (order.shipping && new Big(order.shipping.amount).gt(0)) {
    const tax = taxIds(order, order.shipping.taxes, b, "shipping", system);
    lines.push(
      line(
        SHIPPING_CODE,
        "shipping line",
        1,
        net(order.shipping.amount, order.shipping.taxes, order.taxesIncluded),
        tax,
        order.shipping.title,
      ),
    );
  }
  // Order-level discounts reduce the goods, so they carry the first line's taxes; the totals check catches
  // orders whose lines are taxed differently enough for that to matter.
  const goods = order.lines[0]?.taxes ?? [];
  const goodsTax = taxIds(order, goods, b, "discount", system);
  for (const d of order.discounts) {
    if (new Big(d.amount).eq(0)) continue;
    lines.push(
      line(
        DISCOUNT_CODE,
        "discount line",
        1,
        new Big(net(d.amount, goods, order.taxesIncluded)).neg().toFixed(UNIT_DIGITS),
        goodsTax,
        d.code ? `Discount ${d.code}` : "Discount",
      ),
    );
  }
  return lines;
}

/**
 * Creates sales: as a draft, read back Tryton's total, then quote and confirm only when it matches the
 * shop's total. The canonical key (e.g. `vendure:1001`) goes into the sale's `reference`, which is how a
 * crash between "created in Tryton" and "recorded in the link store" is repaired: the next attempt finds
 * the sale instead of creating it again. A draft whose total does not match stays a draft (visible, never
 * shipped) and the record goes to the failed inbox; a retry rewrites its lines. Quoted or confirmed sales
 * are Tryton's: never rewritten from the shop.
 */
export function orderWriter(ctx: TrytonContext): Writer<"order"> {
  const { client } = ctx;
  const system = ctx.name;

  const partyFor = async (order: Order, wctx: WriteContext): Promise<number> => {
    const linked = await wctx.resolve("customer", order.customer.key);
    if (linked && Number.isInteger(Number(linked))) return Number(linked);
    const found = await findPartyByEmail(ctx, order.customer.email, wctx.signal);
    if (found !== null) return found;
    const [created] = await client.create(
      "party.party",
      [
        {
          name: order.customer.name ?? order.billingAddress?.name ?? order.customer.email,
          contact_mechanisms: [["create", [{ type: "email", value: order.customer.email }]]],
        },
      ],
      `party.party.create for the customer of order ${order.key}`,
      wctx.signal,
    );
    return created as number;
  };

  /** The party's addresses as Tryton holds them, read once per order (both its addresses look here). */
  const addressesOf = (party: number, wctx: WriteContext) =>
    client.searchRead(
      "party.address",
      [["party", "=", party]],
      ["street", "city", "postal_code", "country.code"],
      { signal: wctx.signal },
    );

  /**
   * The party's address equal to `a`, created when missing (and added to `rows`, so the order's other
   * address finds it); else the party's first address.
   */
  const addressFor = async (
    order: Order,
    party: number,
    rows: TrytonRow[],
    a: Address | undefined,
    b: Batch,
    wctx: WriteContext,
  ) => {
    if (a) {
      const same = rows.find((r) => sameAddress(r, a));
      if (same) return same.id;
      if (!b.countries) b.countries = await countryIds(ctx, wctx.signal);
      const vals = addressVals(a, b.countries, `order ${order.key}`);
      const [created] = (await client.create(
        "party.address",
        [{ party, ...vals }],
        `party.address.create for order ${order.key}`,
        wctx.signal,
      )) as [number];
      // As Tryton's read gives it (a related field's value under "country."), for sameAddress.
      rows.push({
        id: created,
        street: vals.street,
        city: vals.city,
        postal_code: vals.postal_code,
        "country.": { code: a.country },
      });
      return created;
    }
    if (rows[0]) return rows[0].id;
    throw new SyncError("data", `order ${order.key}: no address on the order and none on the customer`, {
      system,
      field: "billingAddress",
    });
  };

  const writeOne = async (item: WriteItem<"order">, b: Batch, wctx: WriteContext): Promise<WriteResult> => {
    const order = item.record;
    const existing = b.existing.find(
      (s) =>
        (item.targetId !== null && String(s.id) === item.targetId) ||
        str(s, "reference") === item.externalRef,
    );
    if (order.cancelled) {
      if (!existing) {
        // Only reached when a create was interrupted and its document is gone: nothing to cancel or create.
        return {
          key: item.key,
          ok: false,
          error: new SyncError(
            "permanent",
            `order ${order.key} is cancelled and Tryton has no sale for it: nothing to create`,
            { system, field: "cancelled" },
          ),
        };
      }
      const done = await cancelSale(ctx, existing.id, order, wctx.signal);
      return {
        key: item.key,
        ok: true,
        targetId: String(existing.id),
        action: done.changed ? "updated" : "unchanged",
        note: done.note,
      };
    }
    if (existing && str(existing, "state") !== "draft") {
      return { key: item.key, ok: true, targetId: String(existing.id), action: "unchanged" };
    }
    const currency = b.currencies.get(order.currency);
    if (currency === undefined) {
      throw new SyncError(
        "permanent",
        `order ${order.key}: Tryton has no currency ${JSON.stringify(order.currency)}`,
        {
          system,
          field: "currency",
        },
      );
    }
    const lines = saleLines(order, b, system);
    const party = await partyFor(order, wctx);
    const addresses = await addressesOf(party, wctx);
    const invoiceAddress = await addressFor(
      order,
      party,
      addresses,
      order.billingAddress ?? order.shippingAddress,
      b,
      wctx,
    );
    const shipmentAddress = order.shippingAddress
      ? await addressFor(order, party, addresses, order.shippingAddress, b, wctx)
      : invoiceAddress;
    const header = {
      party,
      invoice_address: invoiceAddress,
      shipment_address: shipmentAddress,
      warehouse: b.warehouse,
      currency,
      sale_date: dateValue(order.placedAt),
      description: `Order ${order.number}`,
    };
    let saleId: number;
    if (existing) {
      saleId = existing.id;
      await client.write(
        "sale.sale",
        [saleId],
        {
          ...header,
          lines: [
            ["delete", ids(existing, "lines")],
            ["create", lines],
          ],
        },
        `sale.sale.write for order ${order.key}`,
        wctx.signal,
      );
    } else {
      [saleId] = (await client.create(
        "sale.sale",
        [{ ...header, reference: item.externalRef, lines: [["create", lines]] }],
        `sale.sale.create for order ${order.key}`,
        wctx.signal,
      )) as [number];
    }
    const [back] = await client.read("sale.sale", [saleId], ["total_amount", "currency.code"], {
      signal: wctx.signal,
    });
    const total = bigOf(back?.total_amount) ?? new Big(0);
    if (!total.eq(order.total)) {
      return {
        key: item.key,
        ok: false,
        error: new SyncError(
          "data",
          `order ${order.key}: Tryton computes a total of ${amount(back?.total_amount) ?? "?"} but the order says ${order.total} ${order.currency}; left as draft sale ${saleId}`,
          { system, field: "total" },
        ),
      };
    }
    await client.model("sale.sale", "quote", [[saleId]], {
      what: `sale.sale.quote for order ${order.key}`,
      signal: wctx.signal,
    });
    await client.model("sale.sale", "confirm", [[saleId]], {
      what: `sale.sale.confirm for order ${order.key}`,
      signal: wctx.signal,
    });
    return { key: item.key, ok: true, targetId: String(saleId), action: existing ? "updated" : "created" };
  };

  return {
    entity: "order",
    // Party lookup, addresses, create, read back the total, quote, confirm.
    estimateCalls: perRecord({ create: 6, update: 1, perBatch: 5 }),
    async findByExternalRef(ref) {
      const rows = await client.searchRead("sale.sale", [["reference", "=", ref]], ["id"], { limit: 1 });
      return rows[0] ? String(rows[0].id) : null;
    },
    async upsert(items, wctx) {
      const skus = [
        ...new Set([...items.flatMap((i) => i.record.lines.map((l) => l.sku)), SHIPPING_CODE, DISCOUNT_CODE]),
      ];
      const targetIds = items.flatMap((i) =>
        i.targetId && Number.isInteger(Number(i.targetId)) ? [Number(i.targetId)] : [],
      );
      const [products, taxes, existing, warehouses, currencies] = await Promise.all([
        // Archived products too: an order placed before its product was withdrawn still sells it.
        client.searchRead(
          "product.product",
          [["code", "in", skus]],
          ["code", "sale_uom", "default_uom", "active"],
          { context: { active_test: false }, signal: wctx.signal },
        ),
        client.searchRead(
          "account.tax",
          [
            ["type", "=", "percentage"],
            ["parent", "=", null],
          ],
          ["rate"],
          { signal: wctx.signal },
        ),
        client.searchRead(
          "sale.sale",
          ["OR", ["id", "in", targetIds], ["reference", "in", items.map((i) => i.externalRef)]],
          ["reference", "state", "lines"],
          { signal: wctx.signal },
        ),
        client.searchRead(
          "stock.location",
          [
            ["type", "=", "warehouse"],
            ["code", "=", ctx.config.warehouse],
          ],
          ["id"],
          { signal: wctx.signal },
        ),
        client.searchRead(
          "currency.currency",
          [["code", "in", [...new Set(items.map((i) => i.record.currency))]]],
          ["code"],
          {
            signal: wctx.signal,
          },
        ),
      ]);
      const warehouse = warehouses[0]?.id;
      if (warehouse === undefined) {
        throw new SyncError(
          "config",
          `Tryton has no warehouse with code ${JSON.stringify(ctx.config.warehouse)}`,
          {
            system,
            field: "warehouse",
          },
        );
      }
      const batch: Batch = {
        // Where a code is on an archived and an active product, the active one wins (it comes last).
        products: new Map(
          [...products]
            .sort((a, b) => Number(bool(a, "active", true)) - Number(bool(b, "active", true)))
            .flatMap((p) => {
              const code = str(p, "code");
              const unit = id(p, "sale_uom") ?? id(p, "default_uom");
              return code && unit !== undefined ? [[code, { id: p.id, unit }] as const] : [];
            }),
        ),
        taxes: taxes.flatMap((t) => {
          const rate = bigOf(t.rate);
          return rate ? [{ id: t.id, rate }] : [];
        }),
        existing,
        warehouse,
        currencies: new Map(
          currencies.flatMap((c) => (str(c, "code") ? [[String(str(c, "code")), c.id] as const] : [])),
        ),
        countries: null,
      };
      const results: WriteResult[] = [];
      for (const item of items) {
        try {
          results.push(await writeOne(item, batch, wctx));
        } catch (err) {
          results.push({ key: item.key, ok: false, error: failure(err, system) });
        }
      }
      return results;
    },
  };
}
