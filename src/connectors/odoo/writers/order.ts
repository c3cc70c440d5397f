import Big from "big.js";
import pLimit from "p-limit";
import { asSyncError, SyncError } from "../../../core/errors.ts";
import type { Order, OrderLine } from "../../../core/model.ts";

type TaxLine = OrderLine["taxes"][number];

import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { num, str } from "../fields.ts";
import { loadSaleTaxes, percentOf, type Tax } from "../taxes.ts";
import { isoToOdoo } from "../time.ts";
import { addressVals, countryIds, findPartnerByEmail, findPartnersByEmail } from "./customer.ts";

/** Service products that carry shipping and discounts on a sale, by internal reference. */
export const SHIPPING_SKU = "SHIP";
export const DISCOUNT_SKU = "DISCOUNT";

type LineVals = Record<string, unknown>;

interface Batch {
  products: Map<string, number>;
  taxes: Tax[];
  existing: OdooRow[];
  /** Loaded by the first order that needs it; shared by the orders written beside it. */
  countries: Promise<Map<string, number>> | null;
}

/** The sale Odoo already has for this order: by its link, else by the reference it carries. */
function existingSale(item: WriteItem<"order">, b: Batch): OdooRow | undefined {
  return b.existing.find(
    (o) =>
      (item.targetId !== null && String(o.id) === item.targetId) ||
      str(o, "client_order_ref") === item.externalRef,
  );
}

/**
 * Whether a grouped call's failure may be one order's fault, so the group is worth writing one order at a
 * time: Odoo answered and refused (a UserError, a ValidationError, a missing record). Not an unanswered
 * call, a 5xx, a 429 or refused credentials: those hit every order alike.
 */
function splittable(err: unknown): boolean {
  const e = asSyncError(err, "odoo");
  return e.kind === "permanent" || e.kind === "data";
}

function taxIds(order: Order, taxes: TaxLine[], all: Tax[], where: string): number[] {
  return taxes.map((t) => {
    const percent = percentOf(t.rate);
    const match =
      all.find(
        (x) =>
          Math.abs(x.percent - percent) < 1e-9 && (percent === 0 || x.priceInclude === order.taxesIncluded),
      ) ?? undefined;
    if (!match) {
      throw new SyncError(
        "permanent",
        `order ${order.key}: Odoo has no sale tax of ${percent}% ${order.taxesIncluded ? "included in" : "excluded from"} the price (${where})`,
        { field: "taxes" },
      );
    }
    return match.id;
  });
}

function orderLines(order: Order, b: Batch): LineVals[] {
  const product = (sku: string, what: string) => {
    const id = b.products.get(sku);
    if (id === undefined) {
      throw new SyncError(
        "permanent",
        `order ${order.key}: no product with internal reference ${JSON.stringify(sku)} in Odoo (${what})`,
        {
          field: "lines.sku",
        },
      );
    }
    return id;
  };
  const lines: LineVals[] = [];
  for (const l of order.lines) {
    const tax = taxIds(order, l.taxes, b.taxes, `line ${l.sku}`);
    lines.push({
      product_id: product(l.sku, "order line"),
      name: l.title ?? l.sku,
      product_uom_qty: l.quantity,
      price_unit: Number(l.unitPrice),
      tax_id: [[6, 0, tax]],
    });
    // A line discount as its own negative line keeps the exact amount; a percentage on the line would round.
    if (new Big(l.discount).gt(0)) {
      lines.push({
        product_id: product(DISCOUNT_SKU, "discount line"),
        name: `Discount on ${l.sku}`,
        product_uom_qty: 1,
        price_unit: -Number(l.discount),
        tax_id: [[6, 0, tax]],
      });
    }
  }
  if (order.shipping) {
    lines.push({
      product_id: product(SHIPPING_SKU, "shipping line"),
      name: order.shipping.title,
      product_uom_qty: 1,
      price_unit: Number(order.shipping.amount),
      tax_id: [[6, 0, taxIds(order, order.shipping.taxes, b.taxes, "shipping")]],
      is_delivery: true,
    });
  }
  // Order-level discounts reduce the goods, so they carry the first line's taxes; the totals check below
  // catches orders whose lines are taxed differently enough for that to matter.
  const goodsTax = taxIds(order, order.lines[0]?.taxes ?? [], b.taxes, "discount");
  for (const d of order.discounts) {
    if (new Big(d.amount).eq(0)) continue;
    lines.push({
      product_id: product(DISCOUNT_SKU, "discount line"),
      name: d.code ? `Discount ${d.code}` : "Discount",
      product_uom_qty: 1,
      price_unit: -Number(d.amount),
      tax_id: [[6, 0, goodsTax]],
    });
  }
  return lines.map((l, i) => ({ sequence: 10 + i, ...l }));
}

/** How long the order writer keeps product ids and sale taxes before reading them again. */
const REFERENCE_TTL_MS = 5 * 60_000;

/**
 * Product ids by internal reference and the sale taxes, kept between batches. They change rarely (a
 * catalogue or an accountant's edit), and reading them for every batch made each retry of a few orders
 * three calls before the first write instead of one: three chances for the whole batch to fail and wait.
 * Read again after REFERENCE_TTL_MS, and at once after an order was refused, in case that is what changed.
 */
function referenceData(ctx: OdooContext) {
  let since = 0;
  let taxes: Promise<Tax[]> | null = null;
  const products = new Map<string, number>();
  const expire = (): void => {
    if (Date.now() - since <= REFERENCE_TTL_MS) return;
    since = Date.now();
    taxes = null;
    products.clear();
  };
  return {
    taxes(signal?: AbortSignal): Promise<Tax[]> {
      expire();
      if (!taxes) {
        const loading = loadSaleTaxes(ctx, signal);
        taxes = loading;
        loading.catch(() => {
          if (taxes === loading) taxes = null;
        });
      }
      return taxes;
    },
    /** Ids of the products with these internal references (those Odoo has; the others are asked again). */
    async products(skus: string[], signal?: AbortSignal): Promise<Map<string, number>> {
      expire();
      const missing = skus.filter((s) => !products.has(s));
      if (missing.length > 0) {
        const rows = await ctx.client.searchRead(
          "product.product",
          [["default_code", "in", missing]],
          ["default_code"],
          { signal },
        );
        for (const p of rows) {
          const code = str(p, "default_code");
          if (code) products.set(code, p.id);
        }
      }
      return new Map(skus.flatMap((s) => (products.has(s) ? [[s, products.get(s) as number] as const] : [])));
    },
    forget(): void {
      since = 0;
    },
  };
}

/**
 * Creates confirmed sale orders. Each order carries the engine's external ref (the canonical key, e.g.
 * `shopify:#1001`) in client_order_ref, which is how a crash between "created in Odoo" and "recorded in the
 * link store" is repaired: the next attempt finds the order instead of creating it again.
 *
 * Order of work: create as a quotation → read back the computed total → confirm only when it matches the
 * shop's total. A quotation that does not match stays a quotation (never shipped, visible to the merchant)
 * and the record goes to the failed inbox; a retry rewrites its lines.
 *
 * A batch's new orders go together (writeNew): one search of the existing sales by client_order_ref, one
 * search of partners by e-mail, one `create` with the list of values, one `read`, one `action_confirm` of
 * the list, so a batch of 50 new orders costs 5–7 calls instead of ~150 (at 80 ms a call, the difference
 * between ~4 and ~50 orders a second). Orders Odoo already has, or cancelled ones, are written one at a
 * time, `concurrency` at once (the connection's setting); the client's governor keeps every request of
 * the connection within that bound and pauses them all on a 429.
 */
export function orderWriter(ctx: OdooContext): Writer<"order"> {
  const { client } = ctx;
  const reference = referenceData(ctx);
  /**
   * The partner being looked up or created per e-mail: two orders of one new customer written at the same
   * time would otherwise both find no partner and both create one.
   */
  const partnerInFlight = new Map<string, Promise<number>>();

  const countriesOf = (b: Batch, wctx: WriteContext): Promise<Map<string, number>> => {
    if (!b.countries) {
      const loading = countryIds(ctx, wctx.signal);
      b.countries = loading;
      loading.catch(() => {
        if (b.countries === loading) b.countries = null;
      });
    }
    return b.countries;
  };

  const findOrCreatePartner = async (order: Order, b: Batch, wctx: WriteContext): Promise<number> => {
    const found = await findPartnerByEmail(ctx, order.customer.email, wctx.signal, { buyers: true });
    if (found !== null) return found;
    const address = order.billingAddress ?? order.shippingAddress;
    const countries = address ? await countriesOf(b, wctx) : null;
    const created = await client.execute(
      "res.partner",
      "create",
      [
        {
          name: order.customer.name ?? address?.name ?? order.customer.email,
          email: order.customer.email,
          ...(address && countries ? addressVals(address, countries) : {}),
        },
      ],
      {},
      wctx.signal,
    );
    if (typeof created !== "number")
      throw new SyncError("permanent", "Odoo's res.partner.create returned no id");
    return created;
  };

  const partnerFor = async (order: Order, b: Batch, wctx: WriteContext): Promise<number> => {
    const linked = await wctx.resolve("customer", order.customer.key);
    if (linked && Number.isInteger(Number(linked))) return Number(linked);
    const email = order.customer.email.trim().toLowerCase();
    // Wait for another order's lookup of the same e-mail; if it failed, look (once at a time) again.
    for (let other = partnerInFlight.get(email); other; other = partnerInFlight.get(email)) {
      const id = await other.then(
        (v) => v,
        () => null,
      );
      if (id !== null) return id;
    }
    const mine = findOrCreatePartner(order, b, wctx);
    partnerInFlight.set(email, mine);
    try {
      return await mine;
    } finally {
      if (partnerInFlight.get(email) === mine) partnerInFlight.delete(email);
    }
  };

  /**
   * Cancels a sale. Odoo 17's action_cancel of a confirmed sale returns the "cancel and e-mail the
   * customer" wizard (sale.order.cancel) instead of cancelling, unless the context carries
   * disable_cancel_warning; a locked sale (the "lock confirmed sales" setting) refuses until unlocked.
   * Its open deliveries are cancelled with it; a sale with posted invoices is refused by Odoo, whose
   * message the failure carries.
   */
  const cancelSale = async (sale: OdooRow, wctx: WriteContext): Promise<void> => {
    const context = { disable_cancel_warning: true };
    const cancel = () => client.execute("sale.order", "action_cancel", [[sale.id]], { context }, wctx.signal);
    const wizard = await cancel().catch(async (err: unknown) => {
      // "You cannot cancel a locked order. Please unlock it first." (the field `locked` is Odoo 17's).
      if (!/locked order/i.test(String((err as Error)?.message))) throw err;
      await client.execute("sale.order", "action_unlock", [[sale.id]], { context }, wctx.signal);
      return cancel();
    });
    if (wizard && typeof wizard === "object") {
      const model = (wizard as { res_model?: unknown }).res_model;
      throw new SyncError(
        "permanent",
        `Odoo answered the cancellation of sale.order ${sale.id} with a ${String(model)} dialog instead of cancelling it`,
        { system: ctx.name, field: "cancelled" },
      );
    }
  };

  const writeOne = async (item: WriteItem<"order">, b: Batch, wctx: WriteContext): Promise<WriteResult> => {
    const order = item.record;
    const existing = existingSale(item, b);
    const state = existing ? str(existing, "state") : undefined;
    if (existing && order.cancelled && state !== "cancel") {
      // The shop cancelled an order Odoo already has (confirmed or not): cancel the sale there too.
      await cancelSale(existing, wctx);
      return {
        key: item.key,
        ok: true,
        targetId: String(existing.id),
        action: "updated",
        note: `sale ${str(existing, "name") ?? existing.id} cancelled`,
      };
    }
    if (existing && state !== "draft" && state !== "sent") {
      // Confirmed sales are the ERP's now: never rewritten from the shop (only cancelled, above).
      return { key: item.key, ok: true, targetId: String(existing.id), action: "unchanged" };
    }
    const lines = orderLines(order, b);
    const partner = await partnerFor(order, b, wctx);
    let id: number;
    if (existing) {
      id = existing.id;
      await client.execute(
        "sale.order",
        "write",
        [[id], { partner_id: partner, order_line: [[5, 0, 0], ...lines.map((l) => [0, 0, l])] }],
        {},
        wctx.signal,
      );
    } else {
      const created = await client.execute(
        "sale.order",
        "create",
        [
          {
            partner_id: partner,
            client_order_ref: item.externalRef,
            date_order: isoToOdoo(order.placedAt),
            order_line: lines.map((l) => [0, 0, l]),
          },
        ],
        {},
        wctx.signal,
      );
      if (typeof created !== "number")
        throw new SyncError("permanent", "Odoo's sale.order.create returned no id");
      id = created;
    }
    return finishOne(item, id, existing ? "updated" : "created", wctx);
  };

  /** A sale whose computed total is not the shop's: left as a quotation, the record failed with why. */
  const totalMismatch = (item: WriteItem<"order">, back: OdooRow): WriteResult | null => {
    const order = item.record;
    const odooTotal = new Big(num(back, "amount_total"));
    if (odooTotal.minus(order.total).abs().lte("0.01")) return null;
    return {
      key: item.key,
      ok: false,
      error: new SyncError(
        "data",
        `order ${order.key}: Odoo computes a total of ${odooTotal.toFixed(2)} ${order.currency} but the order says ${order.total}; left as quotation ${str(back, "name") ?? back.id}`,
        { system: ctx.name, field: "total" },
      ),
    };
  };

  /** After create or write: read back the computed total, then confirm (or cancel) one sale. */
  const finishOne = async (
    item: WriteItem<"order">,
    id: number,
    action: "created" | "updated",
    wctx: WriteContext,
  ): Promise<WriteResult> => {
    const [back] = await client.read("sale.order", [id], ["amount_total", "name"], wctx.signal);
    const refused = totalMismatch(item, back ?? { id });
    if (refused) return refused;
    if (item.record.cancelled) {
      // Cancelled before Odoo ever saw it: kept as a cancelled quotation, never confirmed or delivered.
      await cancelSale({ id }, wctx);
      return { key: item.key, ok: true, targetId: String(id), action };
    }
    await client.execute("sale.order", "action_confirm", [[id]], {}, wctx.signal);
    return { key: item.key, ok: true, targetId: String(id), action };
  };

  /** One order on its own, its failure its own result. */
  const single = async (item: WriteItem<"order">, b: Batch, wctx: WriteContext): Promise<WriteResult> => {
    try {
      return await writeOne(item, b, wctx);
    } catch (err) {
      return { key: item.key, ok: false, error: asSyncError(err, ctx.name) };
    }
  };

  const failAll = (items: WriteItem<"order">[], err: unknown): WriteResult[] =>
    items.map((i) => ({ key: i.key, ok: false, error: asSyncError(err, ctx.name) }));

  /**
   * New sales (no sale in Odoo carries their reference) in four calls for the whole group, whatever its
   * size: partners by e-mail, one `create` with the list of values, one `read` of the computed totals, one
   * `action_confirm` of those whose total matches. When Odoo refuses a grouped call (one order's product,
   * tax or state), the group goes on one order at a time, so the bad order fails alone with Odoo's reason;
   * a grouped call that got no answer, a 5xx or a 429 fails the group as retryable instead (one by one
   * would only repeat it N times), and the retry cannot create a sale twice: it starts with the lookup
   * by client_order_ref, which finds what the unanswered create made.
   */
  const writeNew = async (
    fresh: { item: WriteItem<"order">; lines: LineVals[] }[],
    b: Batch,
    wctx: WriteContext,
  ): Promise<WriteResult[]> => {
    const items = fresh.map((f) => f.item);
    const out = new Map<string, WriteResult>();
    // Partners: by link, else one search by e-mail for the group, else created (once per e-mail).
    const partners = new Map<string, number>();
    const unlinked: WriteItem<"order">[] = [];
    for (const { item } of fresh) {
      const linked = await wctx.resolve("customer", item.record.customer.key);
      if (linked && Number.isInteger(Number(linked))) partners.set(item.key, Number(linked));
      else unlinked.push(item);
    }
    if (unlinked.length > 0) {
      let byEmail: Map<string, number>;
      try {
        byEmail = await findPartnersByEmail(
          ctx,
          unlinked.map((i) => i.record.customer.email),
          wctx.signal,
          { buyers: true },
        );
      } catch (err) {
        if (!splittable(err)) return failAll(items, err);
        byEmail = new Map();
      }
      for (const item of unlinked) {
        const id = byEmail.get(item.record.customer.email.trim().toLowerCase());
        if (id !== undefined) {
          partners.set(item.key, id);
          continue;
        }
        try {
          partners.set(item.key, await partnerFor(item.record, b, wctx));
        } catch (err) {
          out.set(item.key, { key: item.key, ok: false, error: asSyncError(err, ctx.name) });
        }
      }
    }
    const group = fresh.filter((f) => !out.has(f.item.key));
    const inOrder = () => items.map((i) => out.get(i.key) as WriteResult);
    if (group.length === 0) return inOrder();

    let ids: number[];
    try {
      const created = await client.execute(
        "sale.order",
        "create",
        [
          group.map(({ item, lines }) => ({
            partner_id: partners.get(item.key),
            client_order_ref: item.externalRef,
            date_order: isoToOdoo(item.record.placedAt),
            order_line: lines.map((l) => [0, 0, l]),
          })),
        ],
        {},
        wctx.signal,
      );
      if (
        !Array.isArray(created) ||
        created.length !== group.length ||
        !created.every((v) => typeof v === "number")
      )
        throw new SyncError(
          "permanent",
          `Odoo's sale.order.create of ${group.length} sales returned ${JSON.stringify(created)?.slice(0, 80)}, not as many ids`,
        );
      ids = created as number[];
    } catch (err) {
      if (!splittable(err)) {
        for (const r of failAll(
          group.map((g) => g.item),
          err,
        ))
          out.set(r.key, r);
        return inOrder();
      }
      // One order at a time, after looking again for what the refused call may have created.
      const refs = group.map((g) => g.item.externalRef);
      const again = await client
        .searchRead("sale.order", [["client_order_ref", "in", refs]], ["client_order_ref", "state", "name"], {
          order: "id asc",
          signal: wctx.signal,
        })
        .catch((e: unknown) => e as Error);
      if (again instanceof Error) {
        for (const r of failAll(
          group.map((g) => g.item),
          again,
        ))
          out.set(r.key, r);
        return inOrder();
      }
      const alone: Batch = { ...b, existing: [...b.existing, ...again] };
      for (const { item } of group) out.set(item.key, await single(item, alone, wctx));
      return inOrder();
    }

    const made = group.map((g, i) => ({ item: g.item, id: ids[i] as number }));
    const oneByOne = async (rest: typeof made, step: (m: (typeof made)[number]) => Promise<WriteResult>) => {
      for (const m of rest) {
        try {
          out.set(m.item.key, await step(m));
        } catch (err) {
          out.set(m.item.key, { key: m.item.key, ok: false, error: asSyncError(err, ctx.name) });
        }
      }
    };
    let backs: OdooRow[];
    try {
      backs = await client.read(
        "sale.order",
        made.map((m) => m.id),
        ["amount_total", "name"],
        wctx.signal,
      );
    } catch (err) {
      // Created but not confirmed: each is a quotation a retry finds by its reference and finishes.
      if (!splittable(err)) {
        for (const r of failAll(
          made.map((m) => m.item),
          err,
        ))
          out.set(r.key, r);
      } else await oneByOne(made, (m) => finishOne(m.item, m.id, "created", wctx));
      return inOrder();
    }
    const confirm: typeof made = [];
    for (const m of made) {
      const refused = totalMismatch(m.item, backs.find((r) => r.id === m.id) ?? { id: m.id });
      if (refused) out.set(m.item.key, refused);
      else confirm.push(m);
    }
    if (confirm.length > 0) {
      const ok = (m: (typeof made)[number]): WriteResult => ({
        key: m.item.key,
        ok: true,
        targetId: String(m.id),
        action: "created",
      });
      try {
        await client.execute("sale.order", "action_confirm", [confirm.map((m) => m.id)], {}, wctx.signal);
        for (const m of confirm) out.set(m.item.key, ok(m));
      } catch (err) {
        if (!splittable(err)) {
          for (const r of failAll(
            confirm.map((m) => m.item),
            err,
          ))
            out.set(r.key, r);
        } else
          await oneByOne(confirm, async (m) => {
            await client.execute("sale.order", "action_confirm", [[m.id]], {}, wctx.signal);
            return ok(m);
          });
      }
    }
    return inOrder();
  };

  return {
    entity: "order",
    async estimateCalls(page, wctx) {
      // Per batch: the products, the taxes and the existing sales; for its new sales together, the
      // partners by e-mail (when one has no link; creating a missing one is not counted), one create,
      // one read-back of the totals and one confirm. A sale already confirmed is never rewritten, so an
      // update costs nothing more unless it cancels the sale (one call); an interrupted create is one
      // search by client reference.
      const items = toWrite(page);
      let calls = page.lookups.length + (items.length > 0 ? 3 : 0);
      calls += page.update.filter((i) => i.record.cancelled).length;
      if (page.create.length > 0) calls += 3;
      for (const item of page.create) {
        if ((await wctx.resolve("customer", item.record.customer.key)) === null) {
          calls += 1;
          break;
        }
      }
      return calls;
    },
    async findByExternalRef(ref) {
      const rows = await client.searchRead("sale.order", [["client_order_ref", "=", ref]], ["id"], {
        limit: 1,
        order: "id asc",
      });
      return rows[0] ? String(rows[0].id) : null;
    },
    async upsert(items, wctx) {
      const skus = [
        ...new Set([...items.flatMap((i) => i.record.lines.map((l) => l.sku)), SHIPPING_SKU, DISCOUNT_SKU]),
      ];
      const targetIds = items.flatMap((i) =>
        i.targetId && Number.isInteger(Number(i.targetId)) ? [Number(i.targetId)] : [],
      );
      const [products, taxes, existing] = await Promise.all([
        reference.products(skus, wctx.signal),
        reference.taxes(wctx.signal),
        client.searchRead(
          "sale.order",
          ["|", ["id", "in", targetIds], ["client_order_ref", "in", items.map((i) => i.externalRef)]],
          ["client_order_ref", "state", "name"],
          { order: "id asc", signal: wctx.signal },
        ),
      ]);
      const batch: Batch = {
        products,
        taxes,
        existing,
        countries: null,
      };
      // Orders Odoo has (or cancelled before it saw them) one at a time, `concurrency` at once; new
      // orders as one group (writeNew). An order whose lines cannot be built fails alone.
      const results = new Map<string, WriteResult>();
      const fresh: { item: WriteItem<"order">; lines: LineVals[] }[] = [];
      const others: WriteItem<"order">[] = [];
      for (const item of items) {
        if (existingSale(item, batch) || item.record.cancelled) {
          others.push(item);
          continue;
        }
        try {
          fresh.push({ item, lines: orderLines(item.record, batch) });
        } catch (err) {
          results.set(item.key, { key: item.key, ok: false, error: asSyncError(err, ctx.name) });
        }
      }
      const limit = pLimit(ctx.config.concurrency);
      const [grouped, alone] = await Promise.all([
        fresh.length > 0 ? writeNew(fresh, batch, wctx) : [],
        Promise.all(others.map((item) => limit(() => single(item, batch, wctx)))),
      ]);
      for (const r of [...grouped, ...alone]) results.set(r.key, r);
      const ordered = items.map((i) => results.get(i.key) as WriteResult);
      // A refused order may have met a product or a tax changed since they were read: read them again.
      if (ordered.some((r) => !r.ok && !r.error.retryable)) reference.forget();
      return ordered;
    },
  };
}
