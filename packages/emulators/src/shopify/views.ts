/**
 * Records → GraphQL source objects. A property is either a value or a function of the field's arguments;
 * the executor's field resolver (graphql.ts) calls functions. Fields the connector never asks for are
 * simply absent, and graphql-js answers them with null (or an error on non-null fields).
 */
import Big from "big.js";
import { connection, firstOf, type PageArgs } from "./connection.ts";
import type {
  AddressRec,
  CollectionRec,
  CustomerRec,
  FulfillmentOrderRec,
  FulfillmentRec,
  InventoryItemRec,
  LineItemRec,
  LocationRec,
  MenuItemRec,
  MenuRec,
  OrderRec,
  PriceListRec,
  ProductRec,
  RefundRec,
  ShopData,
  TaxLineRec,
  TransactionRec,
  VariantRec,
} from "./store.ts";

export type Src = Record<string, unknown>;

/** Shopify's Decimal/Money scalars are strings like "12.5"; trailing zeros are dropped. */
export function dec(v: string | Big): string {
  return new Big(v).toString();
}

export function money(amount: string | Big, currency: string): Src {
  const m = { amount: dec(amount), currencyCode: currency };
  return { shopMoney: m, presentmentMoney: m };
}

export function sum(values: readonly (string | Big)[]): Big {
  return values.reduce<Big>((acc, v) => acc.plus(v), new Big(0));
}

/** An order's amounts as Shopify computes them from its lines, discounts, shipping and tax lines. */
export function orderTotals(o: OrderRec) {
  const lineNet = sum(o.lines.map((l) => new Big(l.unitPrice).times(l.quantity).minus(l.discount)));
  const discounts = sum(o.lines.map((l) => l.discount));
  const shipping = o.shipping ? new Big(o.shipping.price) : new Big(0);
  const taxLines = mergeTaxes([...o.lines.flatMap((l) => l.taxLines), ...(o.shipping?.taxLines ?? [])]);
  const tax = sum(taxLines.map((t) => t.amount));
  const total = o.taxesIncluded ? lineNet.plus(shipping) : lineNet.plus(shipping).plus(tax);
  return { lineNet, discounts, shipping, taxLines, tax, total };
}

export class Views {
  constructor(private readonly d: ShopData) {}

  location = (l: LocationRec): Src => ({
    ...l,
    isActive: true,
    isPrimary: l.id.endsWith("/1"),
    inventoryLevel: (a: { inventoryItemId: string }) => {
      const item = this.d.inventoryItems.get(a.inventoryItemId);
      return item?.levels.has(l.id) ? this.level(item, l.id) : null;
    },
  });

  level = (item: InventoryItemRec, locationId: string): Src => ({
    id: `gid://shopify/InventoryLevel/${item.id.split("/").pop()}?inventory_item_id=${item.id.split("/").pop()}`,
    isActive: true,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    item: () => this.inventoryItem(item),
    location: () => {
      const l = this.d.locations.get(locationId);
      return l ? this.location(l) : null;
    },
    quantities: (a: { names: string[] }) =>
      a.names.map((name) => {
        const q = item.levels.get(locationId);
        const value =
          name === "on_hand" || name === "available" || name === "committed" ? (q?.[name] ?? 0) : 0;
        return {
          id: `gid://shopify/InventoryQuantity/${item.id.split("/").pop()}?name=${name}`,
          name,
          quantity: value,
          updatedAt: item.updatedAt,
        };
      }),
  });

  inventoryItem = (item: InventoryItemRec): Src => ({
    id: item.id,
    tracked: item.tracked,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    requiresShipping: true,
    sku: () => this.d.variants.get(item.variantId)?.sku ?? null,
    variant: () => {
      const v = this.d.variants.get(item.variantId);
      return v ? this.variant(v) : null;
    },
    inventoryLevel: (a: { locationId: string }) =>
      item.levels.has(a.locationId) ? this.level(item, a.locationId) : null,
    inventoryLevels: (a: PageArgs) =>
      connection(
        [...item.levels.keys()].map((id) => ({ id })),
        a,
        (l) => this.level(item, l.id),
      ),
  });

  variant = (v: VariantRec): Src => {
    const product = this.d.products.get(v.productId);
    return {
      id: v.id,
      sku: v.sku,
      barcode: v.barcode,
      price: dec(v.price),
      compareAtPrice: v.compareAtPrice === null ? null : dec(v.compareAtPrice),
      position: v.position,
      createdAt: v.createdAt,
      updatedAt: v.updatedAt,
      title: v.optionValues.map((o) => o.name).join(" / ") || "Default Title",
      displayName: `${product?.title ?? ""} - ${v.optionValues.map((o) => o.name).join(" / ")}`,
      selectedOptions: v.optionValues.map((o) => ({ name: o.optionName, value: o.name })),
      inventoryQuantity: () => {
        const item = this.d.inventoryItems.get(v.inventoryItemId);
        return item ? [...item.levels.values()].reduce((n, q) => n + q.available, 0) : 0;
      },
      inventoryItem: () => {
        const item = this.d.inventoryItems.get(v.inventoryItemId);
        return item ? this.inventoryItem(item) : null;
      },
      product: () => (product ? this.product(product) : null),
    };
  };

  collection = (c: CollectionRec): Src => ({
    id: c.id,
    title: c.title,
    handle: c.handle,
    descriptionHtml: c.descriptionHtml,
    description: c.descriptionHtml.replace(/<[^>]*>/g, ""),
    updatedAt: c.updatedAt,
    sortOrder: "MANUAL",
    metafield: (a: { namespace?: string | null; key: string }) => {
      const m = c.metafields.get(`${a.namespace ?? "$app"}.${a.key}`);
      return m ? { ...m, createdAt: m.updatedAt, ownerType: "COLLECTION" } : null;
    },
    productsCount: { count: c.productIds.length, precision: "EXACT" },
    hasProduct: (a: { id: string }) => c.productIds.includes(a.id),
    products: (a: PageArgs) =>
      connection(
        c.productIds.flatMap((id) => this.d.products.get(id) ?? []),
        a,
        this.product,
      ),
  });

  menuItem = (i: MenuItemRec): Src => ({ ...i, items: i.items.map(this.menuItem) });

  menu = (m: MenuRec): Src => ({
    id: m.id,
    title: m.title,
    handle: m.handle,
    isDefault: false,
    items: m.items.map(this.menuItem),
  });

  product = (p: ProductRec): Src => ({
    ...p,
    descriptionHtml: p.descriptionHtml,
    collections: (a: PageArgs) =>
      connection(
        [...this.d.collections.values()].filter((c) => c.productIds.includes(p.id)),
        a,
        this.collection,
      ),
    options: (a: { first?: number }) =>
      firstOf(p.options, a.first).map((o, i) => ({
        id: `gid://shopify/ProductOption/${p.id.split("/").pop()}${i}`,
        name: o.name,
        position: i + 1,
        values: o.values,
      })),
    totalVariants: p.variantIds.length,
    variants: (a: PageArgs) =>
      connection(
        p.variantIds.flatMap((id) => this.d.variants.get(id) ?? []),
        a,
        this.variant,
        (v) => v.position,
      ),
  });

  address = (a: AddressRec | null): Src | null =>
    a === null ? null : { ...a, countryCodeV2: a.countryCode, country: a.countryCode };

  customer = (c: CustomerRec): Src => ({
    ...c,
    displayName: `${c.firstName ?? ""} ${c.lastName ?? ""}`.trim(),
    defaultEmailAddress: c.email === null ? null : { emailAddress: c.email },
    defaultPhoneNumber: c.phone === null ? null : { phoneNumber: c.phone },
    defaultAddress: this.address(c.addresses[0] ?? null),
    addressesV2: (a: PageArgs) => connection(c.addresses, a, this.address),
  });

  taxLine = (t: TaxLineRec, currency: string): Src => ({
    title: t.title,
    rate: t.rate,
    ratePercentage: t.rate * 100,
    priceSet: money(t.amount, currency),
    price: dec(t.amount),
  });

  line = (o: OrderRec, l: LineItemRec): Src => ({
    id: l.id,
    sku: l.sku,
    title: l.title,
    name: l.title,
    quantity: l.quantity,
    currentQuantity: l.quantity,
    originalUnitPriceSet: money(l.unitPrice, o.currency),
    originalTotalSet: money(new Big(l.unitPrice).times(l.quantity), o.currency),
    totalDiscountSet: money(l.discount, o.currency),
    discountedTotalSet: money(new Big(l.unitPrice).times(l.quantity).minus(l.discount), o.currency),
    taxLines: l.taxLines.map((t) => this.taxLine(t, o.currency)),
    variant: () => {
      const v = l.variantId ? this.d.variants.get(l.variantId) : undefined;
      return v ? this.variant(v) : null;
    },
  });

  fulfillmentOrder = (o: OrderRec, fo: FulfillmentOrderRec): Src => ({
    id: fo.id,
    status: fo.status,
    orderId: o.id,
    orderName: o.name,
    createdAt: fo.createdAt,
    updatedAt: fo.updatedAt,
    order: () => this.order(o),
    lineItems: (a: PageArgs) =>
      connection(fo.lineItems, a, (li) => {
        const line = o.lines.find((l) => l.id === li.lineItemId);
        return {
          id: li.id,
          sku: line?.sku ?? null,
          totalQuantity: li.totalQuantity,
          remainingQuantity: li.remainingQuantity,
          lineItem: () => (line ? this.line(o, line) : null),
        };
      }),
  });

  fulfillment = (o: OrderRec, f: FulfillmentRec): Src => ({
    id: f.id,
    name: f.name,
    status: f.status,
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
    totalQuantity: f.lines.reduce((n, l) => n + l.quantity, 0),
    trackingInfo: (a: { first?: number }) => firstOf(f.tracking, a.first),
    order: () => this.order(o),
  });

  order = (o: OrderRec): Src => {
    const { lineNet, discounts, shipping, taxLines, tax, total } = orderTotals(o);
    const fulfilled = o.fulfillmentOrders.every((fo) => fo.status === "CLOSED");
    const started = o.fulfillments.length > 0;
    return {
      id: o.id,
      name: o.name,
      number: o.number,
      email: o.email,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
      processedAt: o.createdAt,
      cancelledAt: o.cancelledAt,
      currencyCode: o.currency,
      presentmentCurrencyCode: o.currency,
      taxesIncluded: o.taxesIncluded,
      discountCodes: o.discountCodes,
      discountCode: o.discountCodes[0] ?? null,
      paymentGatewayNames: [o.gateway],
      displayFinancialStatus: o.financialStatus,
      displayFulfillmentStatus: fulfilled ? "FULFILLED" : started ? "PARTIALLY_FULFILLED" : "UNFULFILLED",
      customer: () => {
        const c = o.customerId ? this.d.customers.get(o.customerId) : undefined;
        return c ? this.customer(c) : null;
      },
      billingAddress: this.address(o.billingAddress),
      shippingAddress: this.address(o.shippingAddress),
      subtotalPriceSet: money(lineNet, o.currency),
      totalDiscountsSet: money(discounts, o.currency),
      totalShippingPriceSet: money(shipping, o.currency),
      totalTaxSet: money(tax, o.currency),
      currentTotalTaxSet: money(tax, o.currency),
      totalPriceSet: money(total, o.currency),
      currentTotalPriceSet: money(total, o.currency),
      // Received before returns: what the successful sales brought in, refunds not taken off.
      totalReceivedSet: money(received(o), o.currency),
      totalRefundedSet: money(refunded(o), o.currency),
      netPaymentSet: money(received(o).minus(refunded(o)), o.currency),
      refunds: (a: { first?: number | null }) =>
        firstOf(o.refunds, a.first ?? undefined).map((r) => this.refund(o, r)),
      transactions: (a: { first?: number | null }) =>
        firstOf(o.transactions, a.first ?? undefined).map((t) => this.transaction(o, t)),
      taxLines: taxLines.map((t) => this.taxLine(t, o.currency)),
      shippingLines: (a: PageArgs) =>
        connection(o.shipping ? [{ id: `${o.id}/shipping`, ...o.shipping }] : [], a, (s) => ({
          title: s.title,
          originalPriceSet: money(s.price, o.currency),
          discountedPriceSet: money(s.price, o.currency),
          taxLines: s.taxLines.map((t) => this.taxLine(t, o.currency)),
        })),
      lineItems: (a: PageArgs) => connection(o.lines, a, (l) => this.line(o, l)),
      fulfillmentOrders: (a: PageArgs) =>
        connection(o.fulfillmentOrders, a, (fo) => this.fulfillmentOrder(o, fo)),
      fulfillments: (a: { first?: number }) =>
        firstOf(o.fulfillments, a.first).map((f) => this.fulfillment(o, f)),
    };
  };

  transaction = (o: OrderRec, t: TransactionRec): Src => ({
    id: t.id,
    kind: t.kind,
    status: t.status,
    gateway: t.gateway,
    formattedGateway: t.gateway,
    amountSet: money(t.amount, o.currency),
    createdAt: t.createdAt,
    processedAt: t.createdAt,
    test: false,
    manualPaymentGateway: false,
    manuallyCapturable: false,
    multiCapturable: false,
    fees: [],
    parentTransaction: () => {
      const parent = o.transactions.find((x) => x.id === t.parentId);
      return parent ? this.transaction(o, parent) : null;
    },
    order: () => this.order(o),
  });

  refund = (o: OrderRec, r: RefundRec): Src => {
    const transactions = r.transactionIds.flatMap((id) => o.transactions.find((t) => t.id === id) ?? []);
    const given = sum(transactions.filter((t) => t.status === "SUCCESS").map((t) => t.amount));
    return {
      id: r.id,
      legacyResourceId: r.id.slice(r.id.lastIndexOf("/") + 1),
      note: r.note,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      processedAt: r.createdAt,
      duties: [],
      totalRefundedSet: money(given, o.currency),
      order: () => this.order(o),
      refundLineItems: (a: PageArgs) =>
        connection(r.lines, a, (l) => {
          const line = o.lines.find((x) => x.id === l.lineItemId);
          return {
            id: l.id,
            quantity: l.quantity,
            restockType: l.restockType,
            restocked: l.restockType === "RETURN" || l.restockType === "CANCEL",
            location: null,
            priceSet: money(new Big(l.subtotal).div(l.quantity).round(2, Big.roundHalfUp), o.currency),
            subtotalSet: money(l.subtotal, o.currency),
            totalTaxSet: money(l.tax, o.currency),
            lineItem: () => (line ? this.line(o, line) : null),
          };
        }),
      refundShippingLines: (a: PageArgs) =>
        connection(
          r.shipping
            ? [{ id: `gid://shopify/RefundShippingLine/${r.id.split("/").pop()}`, ...r.shipping }]
            : [],
          a,
          (s) => ({
            id: s.id,
            subtotalAmountSet: money(s.subtotal, o.currency),
            taxAmountSet: money(s.tax, o.currency),
          }),
        ),
      // Shopify's record of a difference between the calculated and the given refund: not modelled, empty.
      orderAdjustments: (a: PageArgs) => connection([], a, (x: { id: string }) => x),
      transactions: (a: PageArgs) => connection(transactions, a, (t) => this.transaction(o, t)),
    };
  };

  priceList = (p: PriceListRec): Src => ({
    id: p.id,
    name: p.name,
    currency: p.currency,
    fixedPricesCount: p.prices.size,
    parent: { adjustment: p.adjustment, settings: { compareAtMode: "ADJUSTED" } },
    prices: (a: PageArgs) =>
      connection(
        [...p.prices.entries()].map(([variantId, pr]) => ({ id: variantId, ...pr })),
        a,
        (pr) => ({
          price: money(pr.price, p.currency).shopMoney,
          compareAtPrice: pr.compareAtPrice === null ? null : money(pr.compareAtPrice, p.currency).shopMoney,
          originType: "FIXED",
          variant: () => {
            const v = this.d.variants.get(pr.id);
            return v ? this.variant(v) : null;
          },
          quantityPriceBreaks: (b: PageArgs) =>
            connection(p.breaks.get(pr.id) ?? [], b, (qb) => ({
              id: qb.id,
              minimumQuantity: qb.minimumQuantity,
              price: money(qb.price, p.currency).shopMoney,
            })),
        }),
      ),
  });
}

/** What the order's successful sales brought in. */
export function received(o: OrderRec): Big {
  return sum(o.transactions.filter((t) => t.kind === "SALE" && t.status === "SUCCESS").map((t) => t.amount));
}

/** What the order's successful refund transactions gave back. */
export function refunded(o: OrderRec): Big {
  return sum(
    o.transactions.filter((t) => t.kind === "REFUND" && t.status === "SUCCESS").map((t) => t.amount),
  );
}

/** Order-level tax lines: the line taxes summed per (title, rate), as Shopify presents them. */
function mergeTaxes(lines: readonly TaxLineRec[]): TaxLineRec[] {
  const by = new Map<string, TaxLineRec>();
  for (const t of lines) {
    const k = `${t.title}|${t.rate}`;
    const prev = by.get(k);
    by.set(k, prev ? { ...prev, amount: new Big(prev.amount).plus(t.amount).toString() } : { ...t });
  }
  return [...by.values()];
}
