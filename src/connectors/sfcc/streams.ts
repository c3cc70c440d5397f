/**
 * Customers and orders read from B2C Commerce.
 *
 * Orders: `GET /orders` of the site, sorted by `last_modified_date` ascending from `lastModifiedDateFrom`
 * (inclusive), paged by `offset`/`limit` (at most 200; the answer carries no total, so a short page is the
 * last). Each call starts again from the last record read (its lastModified as the new lower bound, offset
 * 0) rather than moving an offset through a result that shifts while orders change; records at or before the
 * cursor are dropped, and when a whole page shares the cursor's instant the offset steps over it. The
 * stream is sorted by (lastModified, orderNo) and resumes from its cursor.
 *
 * Customers: the customer list's search (`POST …/customer-search`), which pages by offset/limit with a
 * total. Its documented searchable attributes do not include lastModified or creationDate, so a run reads
 * the whole list by customerNo and keeps those changed since the cursor; the stream is unsorted. Addresses
 * come from the customer's address book (one more call per customer, paged).
 */
import Big from "big.js";
import { SyncError } from "../../core/errors.ts";
import type { Address, CanonicalInputByEntity, OrderLine } from "../../core/model.ts";
import { round } from "../../core/money.ts";
import type { ListRequest, Stream } from "../../ports/connector.ts";
import type { SfccClient } from "./client.ts";
import {
  AddressResult,
  CustomerSearchResult,
  OrdersResponse,
  type SfccAddress,
  SfccCustomer,
  SfccOrder,
} from "./native.ts";

const enc = encodeURIComponent;
const instant = (t: string) => Date.parse(t);

function after(o: SfccOrder, cursor: { time: string; id: string } | null): boolean {
  if (!cursor) return true;
  const d = instant(o.lastModified) - instant(cursor.time);
  return d > 0 || (d === 0 && o.orderNo > cursor.id);
}

async function* orderPages(client: SfccClient, req: ListRequest): AsyncIterable<SfccOrder[]> {
  const size = Math.max(1, Math.min(req.pageSize, client.config.pageSize, 200));
  let cursor = req.since ? { time: new Date(req.since.updatedAt).toISOString(), id: req.since.id } : null;
  let skip = 0;
  for (;;) {
    const page = await client.get(
      client.path("orders", "/orders", {
        siteId: client.config.siteId,
        sortBy: "last_modified_date",
        sortOrder: "asc",
        lastModifiedDateFrom: cursor?.time,
        offset: skip,
        limit: size,
      }),
      OrdersResponse,
      "orders changed since",
    );
    const fresh = page.data
      .filter((o) => after(o, cursor))
      .sort((a, b) => instant(a.lastModified) - instant(b.lastModified) || (a.orderNo < b.orderNo ? -1 : 1));
    if (fresh.length === 0) {
      if (page.data.length < size) return;
      skip += size; // a whole page at the cursor's instant
      continue;
    }
    yield fresh;
    const last = fresh[fresh.length - 1] as SfccOrder;
    cursor = { time: last.lastModified, id: last.orderNo };
    skip = 0;
    if (page.data.length < size) return;
  }
}

function address(a: SfccAddress | undefined, type: Address["type"]): Address | undefined {
  if (!a?.address1 || !a.city || !a.countryCode || !/^[A-Za-z]{2}$/.test(a.countryCode)) return undefined;
  const name = a.fullName || [a.firstName, a.lastName].filter(Boolean).join(" ");
  return {
    type,
    ...(name ? { name } : {}),
    ...(a.companyName ? { company: a.companyName } : {}),
    line1: a.address1,
    ...(a.address2 ? { line2: a.address2 } : {}),
    city: a.city,
    ...(a.postalCode ? { postalCode: a.postalCode } : {}),
    ...(a.stateCode ? { region: a.stateCode } : {}),
    country: a.countryCode.toUpperCase(),
    ...(a.phone ? { phone: a.phone } : {}),
  };
}

export function customerStream(name: string, client: SfccClient): Stream<"customer", SfccCustomer> {
  const listId = client.config.customerListId ?? client.config.siteId;
  const base = `/customer-lists/${enc(listId)}`;
  async function addresses(no: string): Promise<SfccAddress[]> {
    const out: SfccAddress[] = [];
    for (let offset = 0; ; ) {
      const r = await client.get(
        client.path("customers", `${base}/customers/${enc(no)}/addresses`, { offset, limit: 50 }),
        AddressResult,
        "customer addresses",
      );
      out.push(...r.data);
      offset += r.data.length;
      if (r.data.length === 0 || offset >= r.total) return out;
    }
  }
  return {
    entity: "customer",
    sorted: false,
    async *list(req) {
      const size = Math.max(1, Math.min(req.pageSize, client.config.pageSize, 200));
      const since = req.since ? instant(req.since.updatedAt) : null;
      for (let offset = 0; ; ) {
        const r = await client.search(
          client.path("customers", `${base}/customer-search`),
          {
            query: { matchAllQuery: {} },
            sorts: [{ field: "customerNo", sortOrder: "asc" }],
            offset,
            limit: size,
          },
          CustomerSearchResult,
          "customer search",
        );
        const page = r.hits
          .map((h) => h.data)
          .filter((c) => since === null || instant(c.lastModified) >= since);
        if (page.length > 0) yield page;
        offset += r.hits.length;
        if (r.hits.length < size || offset >= r.total) return;
      }
    },
    get: (id) =>
      client.find(client.path("customers", `${base}/customers/${enc(id)}`), SfccCustomer, "customer"),
    idOf: (c) => c.customerNo,
    updatedAtOf: (c) => c.lastModified,
    async toCanonical(c): Promise<CanonicalInputByEntity["customer"]> {
      if (!c.email)
        throw new SyncError("data", `B2C Commerce customer ${c.customerNo} has no email`, {
          system: name,
          field: "email",
        });
      const book = await addresses(c.customerNo);
      const phone = c.phoneMobile || c.phoneHome || c.phoneBusiness;
      return {
        source: name,
        sourceId: c.customerNo,
        updatedAt: c.lastModified,
        key: c.email.toLowerCase(),
        email: c.email.toLowerCase(),
        ...(c.firstName ? { firstName: c.firstName } : {}),
        lastName: c.lastName,
        ...(phone ? { phone } : {}),
        ...(c.companyName ? { company: c.companyName } : {}),
        addresses: book.map((a) => address(a, "both")).filter((a): a is Address => a !== undefined),
      };
    },
  };
}

export function orderStream(name: string, client: SfccClient): Stream<"order", SfccOrder> {
  return {
    entity: "order",
    sorted: true,
    list: (req) => orderPages(client, req),
    get: (id) =>
      client.find(
        client.path("orders", `/orders/${enc(id)}`, { siteId: client.config.siteId }),
        SfccOrder,
        "order",
      ),
    idOf: (o) => o.orderNo,
    updatedAtOf: (o) => o.lastModified,
    toCanonical(o): CanonicalInputByEntity["order"] {
      const currency = o.currency.toUpperCase();
      const m = (n: number | undefined) => round(new Big(n ?? 0).toFixed(), currency);
      const email = o.customerInfo?.email?.toLowerCase();
      if (!email)
        throw new SyncError("data", `B2C Commerce order ${o.orderNo} has no customer email`, {
          system: name,
          field: "customerInfo.email",
        });
      const lines: OrderLine[] = o.productItems.map((i) => {
        const qty = i.quantity ?? 0;
        const gross = new Big(i.basePrice ?? 0).times(qty);
        const after = i.priceAfterItemDiscount ?? (o.taxation === "gross" ? i.grossPrice : i.netPrice);
        const discount = after === undefined ? new Big(0) : gross.minus(after);
        return {
          sku: i.productId,
          ...(i.productName ? { title: i.productName } : {}),
          quantity: qty,
          unitPrice: m(i.basePrice),
          discount: m(discount.gt(0) ? Number(discount.toFixed()) : 0),
          taxes: i.tax ? [{ title: "Tax", rate: String(i.taxRate), amount: m(i.tax) }] : [],
        };
      });
      const first = o.shipments[0];
      const shippingAddress = address(first?.shippingAddress, "shipping");
      const billingAddress = address(o.billingAddress, "billing");
      const cancelled = o.status === "cancelled" || o.status === "failed";
      const shippingRate = o.shippingItems[0]?.taxRate;
      const buyer = o.customerInfo?.customerName;
      return {
        source: name,
        sourceId: o.orderNo,
        updatedAt: o.lastModified,
        key: `${name}:${o.orderNo}`,
        number: o.orderNo,
        placedAt: (o.placeDate as string | undefined) ?? o.creationDate,
        currency,
        customer: { key: email, email, ...(buyer ? { name: buyer } : {}) },
        ...(billingAddress ? { billingAddress } : {}),
        ...(shippingAddress ? { shippingAddress } : {}),
        lines,
        ...(o.shippingTotal !== undefined
          ? {
              shipping: {
                title: first?.shippingMethod?.id ? `Shipping ${first.shippingMethod.id}` : "Shipping",
                amount: m(o.shippingTotal),
                taxes: o.shippingTotalTax
                  ? [{ title: "Tax", rate: String(shippingRate ?? 0), amount: m(o.shippingTotalTax) }]
                  : [],
              },
            }
          : {}),
        discounts: [],
        taxesIncluded: o.taxation === "gross",
        totalTax: m(o.taxTotal),
        total: m(o.orderTotal),
        financialStatus: cancelled ? "voided" : o.paymentStatus === "paid" ? "paid" : "pending",
        fulfillmentStatus:
          o.shippingStatus === "shipped"
            ? "fulfilled"
            : o.shippingStatus === "part_shipped"
              ? "partial"
              : "unfulfilled",
        payments: o.paymentInstruments
          .filter((p) => (p.paymentTransaction?.amount ?? 0) > 0)
          .map((p) => ({
            gateway: p.paymentMethodId ?? "sfcc",
            amount: m(p.paymentTransaction?.amount),
            ...(p.paymentTransaction?.transactionId ? { reference: p.paymentTransaction.transactionId } : {}),
          })),
        cancelled,
      };
    },
  };
}
