/**
 * Customers and orders read from Magento by `updated_at` through searchCriteria. Magento pages by
 * `currentPage`, an offset: a record changed while paging moves to the end and shifts the others back, and
 * a page past the last answers the last page again (magento/magento2#25619). So every call here asks the
 * first page of a keyset instead: the rest of the cursor's second after its id (`updated_at eq T` and
 * `entity_id gt I`, by id), then what came after that second (`updated_at gt T`, by updated_at and id).
 * Timestamps are to the second, UTC. The streams are sorted and resume from their cursor.
 */
import Big from "big.js";
import type { z } from "zod";
import type { Cursor } from "../../core/cursor.ts";
import { SyncError } from "../../core/errors.ts";
import type { Address, CanonicalInputByEntity, OrderLine } from "../../core/model.ts";
import { round } from "../../core/money.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import { type MagentoClient, searchCriteria, toIso, toMagentoTime } from "./client.ts";
import type { MagentoLookups } from "./lookup.ts";
import { type MagentoAddress, MagentoCustomer, MagentoOrder, SearchResult } from "./native.ts";

interface Row {
  entity_id?: number;
  id?: number;
  updated_at: string;
}

/** Pages of records changed after `req.since`, in (updated_at, id) order, each one call for its first page. */
async function* keyset<T extends Row>(
  client: MagentoClient,
  path: string,
  schema: z.ZodType<T>,
  idOf: (r: T) => number,
  req: ListRequest,
): AsyncIterable<T[]> {
  const size = Math.max(1, Math.min(req.pageSize, client.config.pageSize));
  const store = client.config.storeCode;
  const result = SearchResult(schema);
  let cursor: { time: string; id: number } | null = req.since
    ? { time: toMagentoTime(req.since.updatedAt), id: Number(req.since.id) || 0 }
    : null;
  for (;;) {
    if (cursor) {
      // The rest of the cursor's second.
      const same = await client.get(
        store,
        `${path}?${searchCriteria({
          groups: [
            [{ field: "updated_at", value: cursor.time, conditionType: "eq" }],
            [{ field: "entity_id", value: cursor.id, conditionType: "gt" }],
          ],
          sort: [{ field: "entity_id", direction: "ASC" }],
          pageSize: size,
          currentPage: 1,
        })}`,
        result,
        `${path} in the cursor's second`,
      );
      const items = same.items as T[];
      if (items.length > 0) {
        yield items;
        cursor = { time: cursor.time, id: idOf(items[items.length - 1] as T) };
        if (items.length === size) continue;
      }
    }
    const later = await client.get(
      store,
      `${path}?${searchCriteria({
        groups: cursor ? [[{ field: "updated_at", value: cursor.time, conditionType: "gt" }]] : [],
        sort: [
          { field: "updated_at", direction: "ASC" },
          { field: "entity_id", direction: "ASC" },
        ],
        pageSize: size,
        currentPage: 1,
      })}`,
      result,
      `${path} changed since`,
    );
    const items = later.items as T[];
    if (items.length === 0) return;
    yield items;
    const last = items[items.length - 1] as T;
    cursor = { time: last.updated_at, id: idOf(last) };
    if (items.length < size) return;
  }
}

function address(a: MagentoAddress | null | undefined, type: Address["type"]): Address | undefined {
  const line1 = a?.street?.[0];
  if (!a || !line1 || !a.city || !/^[A-Z]{2}$/i.test(a.country_id)) return undefined;
  const name = [a.firstname, a.lastname].filter(Boolean).join(" ");
  const region = typeof a.region === "string" ? a.region : (a.region?.region ?? "");
  return {
    type,
    ...(name ? { name } : {}),
    ...(a.company ? { company: a.company } : {}),
    line1,
    ...(a.street?.[1] ? { line2: a.street.slice(1).join(", ") } : {}),
    city: a.city,
    ...(a.postcode ? { postalCode: a.postcode } : {}),
    ...(region ? { region } : {}),
    country: a.country_id.toUpperCase(),
    ...(a.telephone ? { phone: a.telephone } : {}),
  };
}

export function customerStream(
  name: string,
  client: MagentoClient,
  lookups: MagentoLookups,
): Stream<"customer", MagentoCustomer> {
  return {
    entity: "customer",
    sorted: true,
    list: (req) => keyset(client, "/customers/search", MagentoCustomer, (c) => c.id, req),
    get: (id) =>
      /^\d+$/.test(id)
        ? client.find(client.config.storeCode, `/customers/${id}`, MagentoCustomer, "customer")
        : Promise.resolve(null),
    idOf: (c) => String(c.id),
    updatedAtOf: (c) => toIso(c.updated_at),
    async toCanonical(c): Promise<CanonicalInputByEntity["customer"]> {
      if (!c.lastname)
        throw new SyncError("data", `Magento customer ${c.id} (${c.email}) has no lastname`, {
          system: name,
          field: "lastname",
        });
      const group =
        c.group_id === null || c.group_id === undefined ? undefined : await lookups.groupCode(c.group_id);
      const addresses = (c.addresses ?? [])
        .map((a) =>
          address(
            a,
            a.default_billing && !a.default_shipping
              ? "billing"
              : a.default_shipping && !a.default_billing
                ? "shipping"
                : "both",
          ),
        )
        .filter((a): a is Address => a !== undefined);
      return {
        source: name,
        sourceId: String(c.id),
        updatedAt: toIso(c.updated_at),
        key: c.email.toLowerCase(),
        email: c.email.toLowerCase(),
        ...(c.firstname ? { firstName: c.firstname } : {}),
        lastName: c.lastname,
        ...(group ? { group } : {}),
        addresses,
      };
    },
  };
}

const money = (n: number, currency: string) => round(new Big(n).toFixed(), currency);

export function orderStream(name: string, client: MagentoClient): Stream<"order", MagentoOrder> {
  return {
    entity: "order",
    sorted: true,
    list: (req) => keyset(client, "/orders", MagentoOrder, (o) => o.entity_id, req),
    get: (id) =>
      /^\d+$/.test(id)
        ? client.find(client.config.storeCode, `/orders/${id}`, MagentoOrder, "order")
        : Promise.resolve(null),
    idOf: (o) => String(o.entity_id),
    updatedAtOf: (o) => toIso(o.updated_at),
    toCanonical(o): CanonicalInputByEntity["order"] {
      const currency = o.order_currency_code.toUpperCase();
      const m = (n: number) => money(n, currency);
      // A configurable product is ordered as two lines: the parent (carrying the chosen child's SKU, the
      // price and the tax) and the child simple (price 0, parent_item_id set). Only the parent line counts.
      const lines: OrderLine[] = o.items
        .filter((i) => i.parent_item_id === null || i.parent_item_id === undefined)
        .map((i) => ({
          sku: i.sku,
          ...(i.name ? { title: i.name } : {}),
          quantity: Math.max(0, i.qty_ordered - i.qty_canceled),
          unitPrice: m(i.price),
          discount: m(Math.abs(i.discount_amount)),
          taxes:
            i.tax_amount !== 0
              ? [{ title: "Tax", rate: new Big(i.tax_percent).div(100).toFixed(), amount: m(i.tax_amount) }]
              : [],
        }));
      const shippingAddress = address(
        o.extension_attributes?.shipping_assignments?.[0]?.shipping.address,
        "shipping",
      );
      const billingAddress = address(o.billing_address, "billing");
      const email = o.customer_email.toLowerCase();
      const buyer = [o.customer_firstname, o.customer_lastname].filter(Boolean).join(" ");
      const cancelled = o.state === "canceled";
      const paid = new Big(o.total_paid);
      const refunded = new Big(o.total_refunded);
      const financialStatus: CanonicalInputByEntity["order"]["financialStatus"] = cancelled
        ? "voided"
        : refunded.gt(0)
          ? refunded.gte(o.grand_total)
            ? "refunded"
            : "partially_refunded"
          : paid.gte(o.grand_total)
            ? "paid"
            : "pending";
      const top = o.items.filter((i) => i.parent_item_id === null || i.parent_item_id === undefined);
      const shipped = top.reduce((n, i) => n + i.qty_shipped, 0);
      const due = top.reduce((n, i) => n + i.qty_ordered - i.qty_canceled, 0);
      return {
        source: name,
        sourceId: String(o.entity_id),
        updatedAt: toIso(o.updated_at),
        key: `${name}:${o.increment_id}`,
        number: o.increment_id,
        placedAt: toIso(o.created_at),
        currency,
        customer: { key: email, email, ...(buyer ? { name: buyer } : {}) },
        ...(billingAddress ? { billingAddress } : {}),
        ...(shippingAddress ? { shippingAddress } : {}),
        lines,
        ...(o.shipping_description || o.shipping_amount
          ? {
              shipping: {
                title: o.shipping_description || "Shipping",
                amount: m(o.shipping_amount),
                taxes: o.shipping_tax_amount
                  ? [{ title: "Tax", rate: "0", amount: m(o.shipping_tax_amount) }]
                  : [],
              },
            }
          : {}),
        discounts: [],
        taxesIncluded: false,
        totalTax: m(o.tax_amount),
        total: m(o.grand_total),
        financialStatus,
        fulfillmentStatus: shipped <= 0 ? "unfulfilled" : shipped >= due ? "fulfilled" : "partial",
        payments:
          o.payment && o.payment.amount_paid > 0
            ? [{ gateway: o.payment.method || "magento", amount: m(o.payment.amount_paid) }]
            : [],
        ...(refunded.gt(0) ? { refunds: [{ amount: m(o.total_refunded) }] } : {}),
        cancelled,
      };
    },
  };
}

export type { Cursor };
