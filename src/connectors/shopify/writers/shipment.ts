/**
 * Canonical Shipment → a Shopify fulfillment with tracking, over the order's open fulfillment orders.
 * The order is found through the link store (`ctx.resolve("order", orderKey)`) or by its name. A
 * fulfillment already carrying the shipment's first tracking number means the shipment was written
 * before: that is both `findByExternalRef` and the "unchanged" answer, so a retry never ships twice.
 */
import { z } from "zod";
import type { Shipment } from "../../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { type ShopifyClient, UserErrors } from "../client.ts";
import { FULFILLMENT_CREATE, ORDER_BY_NAME, ORDER_FULFILLMENT } from "../operations.ts";
import { failed, perItem, userErrorResult } from "./results.ts";

const OrderAnswer = z.object({
  order: z
    .object({
      id: z.string(),
      name: z.string(),
      fulfillmentOrders: z.object({
        nodes: z.array(
          z.object({
            id: z.string(),
            status: z.string(),
            lineItems: z.object({
              nodes: z.array(
                z.object({ id: z.string(), sku: z.string().nullable(), remainingQuantity: z.number() }),
              ),
            }),
          }),
        ),
      }),
      fulfillments: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          trackingInfo: z.array(z.object({ number: z.string().nullable() })),
        }),
      ),
    })
    .nullable(),
});
type ShopOrder = NonNullable<z.infer<typeof OrderAnswer>["order"]>;

const CreateAnswer = z.object({
  fulfillmentCreate: z
    .object({ fulfillment: z.object({ id: z.string() }).nullable(), userErrors: UserErrors })
    .nullable(),
});

const quoteName = (n: string) => `name:"${n.replace(/"/g, '\\"')}"`;

export function shipmentWriter(system: string, client: ShopifyClient): Writer<"shipment"> {
  async function findOrderId(s: Shipment, ctx?: WriteContext): Promise<string | null> {
    const linked = ctx ? await ctx.resolve("order", s.orderKey) : null;
    if (linked !== null) return linked;
    const data = await client.request(
      ORDER_BY_NAME,
      { query: quoteName(s.orderNumber) },
      z.object({ orders: z.object({ nodes: z.array(z.object({ id: z.string(), name: z.string() })) }) }),
    );
    return data.orders.nodes.find((o) => o.name === s.orderNumber)?.id ?? null;
  }

  async function loadOrder(id: string): Promise<ShopOrder | null> {
    return (await client.request(ORDER_FULFILLMENT, { id }, OrderAnswer)).order;
  }

  const alreadyShipped = (o: ShopOrder, s: Shipment) =>
    o.fulfillments.find((f) =>
      f.trackingInfo.some((t) => t.number !== null && s.trackingNumbers.includes(t.number)),
    );

  async function writeOne(item: WriteItem<"shipment">, ctx: WriteContext): Promise<WriteResult> {
    const s = item.record;
    const orderId = await findOrderId(s, ctx);
    if (orderId === null)
      return failed(
        item.key,
        "permanent",
        `no Shopify order ${s.orderNumber} (order key ${s.orderKey})`,
        system,
        "orderNumber",
      );
    const order = await loadOrder(orderId);
    if (order === null)
      return failed(item.key, "permanent", `Shopify order ${orderId} no longer exists`, system, "orderKey");
    const done = alreadyShipped(order, s);
    if (done) return { key: item.key, ok: true, targetId: done.id, action: "unchanged" };
    const open = order.fulfillmentOrders.nodes.filter(
      (fo) => fo.status === "OPEN" || fo.status === "IN_PROGRESS",
    );
    if (open.length === 0)
      return failed(
        item.key,
        "permanent",
        `Shopify order ${order.name} has nothing left to fulfil`,
        system,
        "orderNumber",
      );
    let groups: {
      fulfillmentOrderId: string;
      fulfillmentOrderLineItems?: { id: string; quantity: number }[];
    }[];
    if (s.lines.length === 0) {
      groups = open.map((fo) => ({ fulfillmentOrderId: fo.id }));
    } else {
      // Partial shipment: take each SKU's quantity from the open fulfillment order lines that still need it.
      const want = new Map<string, number>();
      for (const l of s.lines) want.set(l.sku, (want.get(l.sku) ?? 0) + l.quantity);
      groups = [];
      for (const fo of open) {
        const lines: { id: string; quantity: number }[] = [];
        for (const li of fo.lineItems.nodes) {
          const need = li.sku === null ? 0 : (want.get(li.sku) ?? 0);
          const take = Math.min(need, li.remainingQuantity);
          if (take > 0 && li.sku !== null) {
            lines.push({ id: li.id, quantity: take });
            want.set(li.sku, need - take);
          }
        }
        if (lines.length > 0) groups.push({ fulfillmentOrderId: fo.id, fulfillmentOrderLineItems: lines });
      }
      const missing = [...want].filter(([, q]) => q > 0);
      if (missing.length > 0) {
        return failed(
          item.key,
          "permanent",
          `Shopify order ${order.name} has no open quantity for ${missing.map(([k, q]) => `${q} × ${k}`).join(", ")}`,
          system,
          "lines",
        );
      }
    }
    const data = await client.request(
      FULFILLMENT_CREATE,
      {
        fulfillment: {
          lineItemsByFulfillmentOrder: groups,
          notifyCustomer: false,
          trackingInfo: {
            numbers: s.trackingNumbers,
            ...(s.trackingUrls.length > 0 ? { urls: s.trackingUrls } : {}),
            ...(s.carrier ? { company: s.carrier } : {}),
          },
        },
      },
      CreateAnswer,
    );
    const created = data.fulfillmentCreate?.fulfillment;
    if (!created) return userErrorResult(item.key, data.fulfillmentCreate?.userErrors ?? [], system);
    return { key: item.key, ok: true, targetId: created.id, action: "created" };
  }

  return {
    entity: "shipment",
    async estimateCalls(page, ctx) {
      // Per shipment: the order by its link (else by name), its fulfillment orders, then the fulfillment.
      // An interrupted create is looked up by the order's name and the order.
      let calls = 2 * page.lookups.length;
      for (const item of toWrite(page)) {
        calls += (await ctx.resolve("order", item.record.orderKey)) === null ? 3 : 2;
      }
      return calls;
    },
    async upsert(items, ctx) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => writeOne(item, ctx)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const orderId = await findOrderId(record);
      const order = orderId === null ? null : await loadOrder(orderId);
      return order ? (alreadyShipped(order, record)?.id ?? null) : null;
    },
  };
}
