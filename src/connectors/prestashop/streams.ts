/**
 * Customers and orders read by their modification time. PrestaShop filters dates only with `date=1`
 * (`filter[date_upd]=[from,to]`), sorts on several fields (`sort=[date_upd_ASC,id_ASC]`) and pages by offset
 * (`limit=offset,count`): a record changed while paging moves to the end and shifts the others back. So
 * every page here is the first page (`limit=0,n`) of what follows the last record seen, a keyset on
 * (date_upd, id): the rest of that record's second by id (`filter[date_upd]=[t,t]` and `filter[id]=[id+1,…]`),
 * then what changed from the next second on. Dates are to the second, on the shop's clock (read as UTC).
 * The records a customer or order refers to (addresses, customers, countries, currencies, order states) are
 * read per page, one call per resource, or once per connection for the small tables.
 */
import Big from "big.js";
import type { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { Address, CanonicalInputByEntity, OrderLine } from "../../core/model.ts";
import { round } from "../../core/money.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { fromIso, langText, type PrestaShopClient, toIso } from "./client.ts";
import type { PrestaShopLookups } from "./lookup.ts";
import {
  PsAddress,
  PsCombination,
  PsCustomer,
  type PsCustomerFull,
  PsOption,
  PsOptionValue,
  type PsOrder,
  PsOrderHead,
  PsProduct,
} from "./native.ts";

const FAR = "9999-12-31 23:59:59";
const plusSecond = (t: string) => fromIso(new Date(Date.parse(toIso(t)) + 1000).toISOString());
const q = (s: string) => encodeURIComponent(s);

/** Pages of `resource` after the cursor, in (date_upd, id) order, each the first page of its filter. */
export async function* changedSince<T extends { id: number; date_upd: string }>(
  client: PrestaShopClient,
  resource: string,
  item: z.ZodType<T>,
  req: ListRequest,
  what: string,
): AsyncIterable<T[]> {
  const size = Math.max(1, Math.min(req.pageSize, client.config.pageSize));
  const list = (query: string) => client.list(resource, `display=full&${query}&limit=0,${size}`, item, what);
  let cursor: { time: string; id: number } | null = req.since
    ? { time: fromIso(req.since.updatedAt), id: /^\d+$/.test(req.since.id) ? Number(req.since.id) : 0 }
    : null;
  for (;;) {
    if (cursor) {
      const same = await list(
        `filter[date_upd]=${q(`[${cursor.time},${cursor.time}]`)}&date=1&filter[id]=${q(`[${cursor.id + 1},999999999]`)}&sort=${q("[id_ASC]")}`,
      );
      if (same.length > 0) {
        yield same;
        cursor = { time: cursor.time, id: (same[same.length - 1] as T).id };
        if (same.length === size) continue;
      }
    }
    const later = await list(
      `${cursor ? `filter[date_upd]=${q(`[${plusSecond(cursor.time)},${FAR}]`)}&date=1&` : ""}sort=${q("[date_upd_ASC,id_ASC]")}`,
    );
    if (later.length === 0) return;
    yield later;
    const last = later[later.length - 1] as T;
    cursor = { time: last.date_upd, id: last.id };
    if (later.length < size) return;
  }
}

const anyOf = (ids: (string | number)[]) => q(`[${[...new Set(ids.map(String))].join("|")}]`);

async function withCountries(
  lookups: PrestaShopLookups,
  addresses: z.infer<typeof PsAddress>[],
): Promise<(z.infer<typeof PsAddress> & { country: string })[]> {
  const countries = await lookups.countries();
  return addresses.map((a) => ({
    ...a,
    country: countries.find((c) => String(c.id) === a.id_country)?.iso ?? "",
  }));
}

function address(
  a: (z.infer<typeof PsAddress> & { country: string }) | null | undefined,
  type: Address["type"],
) {
  if (!a?.address1 || !a.city || !/^[A-Z]{2}$/.test(a.country)) return undefined;
  const name = [a.firstname, a.lastname].filter(Boolean).join(" ");
  return {
    type,
    ...(name ? { name } : {}),
    ...(a.company ? { company: a.company } : {}),
    line1: a.address1,
    ...(a.address2 ? { line2: a.address2 } : {}),
    city: a.city,
    ...(a.postcode ? { postalCode: a.postcode } : {}),
    country: a.country,
    ...(a.phone ? { phone: a.phone } : {}),
  } satisfies Address;
}

async function customersFull(
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
  page: PsCustomer[],
): Promise<PsCustomerFull[]> {
  if (page.length === 0) return [];
  const addresses = await withCountries(
    lookups,
    await client.list(
      "addresses",
      `display=full&filter[id_customer]=${anyOf(page.map((c) => c.id))}&filter[deleted]=[0]`,
      PsAddress,
      "customers' addresses",
    ),
  );
  const out: PsCustomerFull[] = [];
  for (const c of page)
    out.push({
      ...c,
      addresses: addresses.filter((a) => a.id_customer === String(c.id)),
      group: /^\d+$/.test(c.id_default_group)
        ? ((await lookups.groupName(Number(c.id_default_group))) ?? null)
        : null,
    });
  return out;
}

export function customerStream(
  name: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Stream<"customer", PsCustomerFull> {
  return {
    entity: "customer",
    sorted: true,
    async *list(req) {
      for await (const page of changedSince(client, "customers", PsCustomer, req, "customers changed since"))
        yield await customersFull(client, lookups, page);
    },
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      const c = await client.one("customers", "customer", id, PsCustomer, "customer");
      return c ? ((await customersFull(client, lookups, [c]))[0] ?? null) : null;
    },
    idOf: (c) => String(c.id),
    updatedAtOf: (c) => toIso(c.date_upd),
    toCanonical(c): CanonicalInputByEntity["customer"] {
      if (!c.lastname)
        throw new SyncError("data", `PrestaShop customer ${c.id} (${c.email}) has no lastname`, {
          system: name,
          field: "lastname",
        });
      return {
        source: name,
        sourceId: String(c.id),
        updatedAt: toIso(c.date_upd),
        key: c.email.toLowerCase(),
        email: c.email.toLowerCase(),
        ...(c.firstname ? { firstName: c.firstname } : {}),
        lastName: c.lastname,
        ...(c.company ? { company: c.company } : {}),
        ...(c.group ? { group: c.group } : {}),
        addresses: c.addresses.map((a) => address(a, "both")).filter((a): a is Address => a !== undefined),
      };
    },
  };
}

async function ordersFull(
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
  page: PsOrderHead[],
): Promise<PsOrder[]> {
  if (page.length === 0) return [];
  const customers = await client.list(
    "customers",
    `display=[id,email,firstname,lastname]&filter[id]=${anyOf(page.map((o) => o.id_customer))}`,
    PsCustomer.pick({ id: true, email: true, firstname: true, lastname: true }),
    "orders' customers",
  );
  const addresses = await withCountries(
    lookups,
    await client.list(
      "addresses",
      `display=full&filter[id]=${anyOf(page.flatMap((o) => [o.id_address_delivery, o.id_address_invoice]))}`,
      PsAddress,
      "orders' addresses",
    ),
  );
  const currencies = await lookups.currencies();
  const states = await lookups.states();
  return page.map((o) => {
    const c = customers.find((x) => String(x.id) === o.id_customer);
    return {
      ...o,
      email: c?.email ?? "",
      customerName: [c?.firstname, c?.lastname].filter(Boolean).join(" "),
      currency: currencies.find((x) => String(x.id) === o.id_currency)?.iso ?? "",
      state: states.find((s) => String(s.id) === o.current_state) ?? null,
      delivery: addresses.find((a) => String(a.id) === o.id_address_delivery) ?? null,
      invoice: addresses.find((a) => String(a.id) === o.id_address_invoice) ?? null,
    };
  });
}

export function orderStream(
  name: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Stream<"order", PsOrder> {
  const cancelled = String(client.config.cancelledState);
  return {
    entity: "order",
    sorted: true,
    async *list(req) {
      for await (const page of changedSince(client, "orders", PsOrderHead, req, "orders changed since"))
        yield await ordersFull(client, lookups, page);
    },
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      const o = await client.one("orders", "order", id, PsOrderHead, "order");
      return o ? ((await ordersFull(client, lookups, [o]))[0] ?? null) : null;
    },
    idOf: (o) => String(o.id),
    updatedAtOf: (o) => toIso(o.date_upd),
    toCanonical(o): CanonicalInputByEntity["order"] {
      const currency = o.currency;
      if (!/^[A-Z]{3}$/.test(currency))
        throw new SyncError("data", `PrestaShop order ${o.id}: currency ${o.id_currency} is unknown`, {
          system: name,
          field: "id_currency",
        });
      const m = (v: Big | string) => round(new Big(v).toFixed(), currency);
      const lines: OrderLine[] = (o.associations?.order_rows ?? []).map((r) => {
        if (!r.product_reference)
          throw new SyncError(
            "data",
            `PrestaShop order ${o.id}: product ${r.product_id} has no reference (SKU)`,
            {
              system: name,
              field: "order_rows.product_reference",
            },
          );
        const excl = new Big(r.unit_price_tax_excl || "0");
        const incl = new Big(r.unit_price_tax_incl || "0");
        const qty = Number(r.product_quantity);
        const tax = incl.minus(excl).times(qty);
        return {
          sku: r.product_reference,
          ...(r.product_name ? { title: r.product_name } : {}),
          quantity: qty,
          unitPrice: m(excl),
          discount: "0",
          taxes: tax.gt(0)
            ? [
                {
                  title: "Tax",
                  rate: excl.gt(0) ? incl.div(excl).minus(1).round(4).toFixed() : "0",
                  amount: m(tax),
                },
              ]
            : [],
        };
      });
      const shipExcl = new Big(o.total_shipping_tax_excl || "0");
      const shipTax = new Big(o.total_shipping_tax_incl || "0").minus(shipExcl);
      const discount = new Big(o.total_discounts_tax_excl || "0");
      const total = new Big(o.total_paid_tax_incl || "0");
      const totalTax = total.minus(new Big(o.total_paid_tax_excl || "0"));
      const isCancelled = o.current_state === cancelled;
      const paid = o.state?.paid === "1";
      const billing = address(o.invoice, "billing");
      const shipping = address(o.delivery, "shipping");
      const email = o.email.toLowerCase();
      return {
        source: name,
        sourceId: String(o.id),
        updatedAt: toIso(o.date_upd),
        key: `${name}:${o.id}`,
        number: String(o.id),
        placedAt: toIso(o.date_add),
        currency,
        customer: { key: email, email, ...(o.customerName ? { name: o.customerName } : {}) },
        ...(billing ? { billingAddress: billing } : {}),
        ...(shipping ? { shippingAddress: shipping } : {}),
        lines,
        ...(shipExcl.gt(0)
          ? {
              shipping: {
                title: "Shipping",
                amount: m(shipExcl),
                taxes: shipTax.gt(0)
                  ? [
                      {
                        title: "Tax",
                        rate: shipExcl.gt(0) ? shipTax.div(shipExcl).round(4).toFixed() : "0",
                        amount: m(shipTax),
                      },
                    ]
                  : [],
              },
            }
          : {}),
        discounts: discount.gt(0) ? [{ amount: m(discount) }] : [],
        taxesIncluded: false,
        totalTax: m(totalTax.lt(0) ? new Big(0) : totalTax),
        total: m(total),
        financialStatus: isCancelled ? "voided" : paid ? "paid" : "pending",
        fulfillmentStatus: o.state?.shipped === "1" ? "fulfilled" : "unfulfilled",
        payments:
          paid && total.gt(0) ? [{ gateway: o.module || o.payment || "prestashop", amount: m(total) }] : [],
        cancelled: isCancelled,
      };
    },
  };
}

/** A product with its combinations and their option values by name. */
export interface PsProductFull extends PsProduct {
  variants: { sku: string; impact: string; options: Record<string, string> }[];
}

async function productsFull(client: PrestaShopClient, page: PsProduct[]): Promise<PsProductFull[]> {
  if (page.length === 0) return [];
  const lang = client.config.languageId;
  const combos = await client.list(
    "combinations",
    `display=full&filter[id_product]=${anyOf(page.map((p) => p.id))}&sort=[id_ASC]`,
    PsCombination,
    "products' combinations",
  );
  const needsOptions = combos.some((c) => (c.associations?.product_option_values ?? []).length > 0);
  const groups = needsOptions
    ? await client.list("product_options", "display=full", PsOption, "product options")
    : [];
  const values = needsOptions
    ? await client.list("product_option_values", "display=full", PsOptionValue, "option values")
    : [];
  return page.map((p) => ({
    ...p,
    variants: combos
      .filter((c) => c.id_product === p.id)
      .map((c) => ({
        sku: c.reference,
        impact: c.price || "0",
        options: Object.fromEntries(
          (c.associations?.product_option_values ?? []).flatMap((v) => {
            const value = values.find((x) => x.id === v.id);
            const group = value ? groups.find((g) => g.id === value.id_attribute_group) : undefined;
            return value && group ? [[langText(group.name, lang), langText(value.name, lang)]] : [];
          }),
        ),
      })),
  }));
}

export function productStream(name: string, client: PrestaShopClient): Stream<"product", PsProductFull> {
  const lang = client.config.languageId;
  return {
    entity: "product",
    sorted: true,
    async *list(req) {
      for await (const page of changedSince(client, "products", PsProduct, req, "products changed since"))
        yield await productsFull(client, page);
    },
    async get(id) {
      if (!/^\d+$/.test(id)) return null;
      const p = await client.one("products", "product", id, PsProduct, "product");
      return p ? ((await productsFull(client, [p]))[0] ?? null) : null;
    },
    idOf: (p) => String(p.id),
    updatedAtOf: (p) => toIso(p.date_upd),
    toCanonical(p): CanonicalInputByEntity["product"] {
      const title = langText(p.name, lang);
      if (!p.reference)
        throw new SyncError("data", `PrestaShop product ${p.id} (${title}) has no reference (SKU)`, {
          system: name,
          field: "reference",
        });
      const currency = client.config.currency;
      const base = new Big(p.price || "0");
      const variants =
        p.variants.length === 0
          ? [{ sku: p.reference, price: round(base.toFixed(), currency), options: {} }]
          : p.variants.map((v) => {
              if (!v.sku)
                throw new SyncError(
                  "data",
                  `PrestaShop product ${p.reference}: a combination has no reference (SKU)`,
                  {
                    system: name,
                    field: "combinations.reference",
                  },
                );
              return {
                sku: v.sku,
                price: round(base.plus(v.impact).toFixed(), currency),
                options: v.options,
              };
            });
      return {
        source: name,
        sourceId: String(p.id),
        updatedAt: toIso(p.date_upd),
        key: p.reference,
        title: title || p.reference,
        status: p.active === "0" ? "draft" : "active",
        currency,
        categoryPath: [],
        attributes: {},
        images: [],
        components: [],
        variants,
      };
    },
  };
}
