/**
 * Shipments back to the shop. The Orders API has no operation that creates a shipment or sets a
 * shipment's tracking number (an order's shipments and their `trackingNumber` are read-only there); it
 * sets the order's shipping status (`PUT /orders/{orderNo}/shipping-status`: shipped, or part_shipped when
 * the ERP's shipment lists lines that do not cover every product item) and the order's custom attributes
 * (`PATCH /orders/{orderNo}`). So a shipment moves the order's shipping status and, when
 * `trackingAttribute` names an order custom attribute defined in Business Manager, writes the tracking
 * numbers (comma-separated) there. The shipment's id in B2C Commerce is the order number.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { explained, type SfccClient } from "../client.ts";
import type { SfccOrder } from "../native.ts";
import { findOrder } from "./order.ts";

const enc = encodeURIComponent;

function shippingStatusOf(s: Shipment, o: SfccOrder): "shipped" | "part_shipped" {
  if (s.lines.length === 0) return "shipped";
  const shipped = new Map<string, number>();
  for (const l of s.lines) shipped.set(l.sku, (shipped.get(l.sku) ?? 0) + l.quantity);
  return o.productItems.every((i) => (shipped.get(i.productId) ?? 0) >= (i.quantity ?? 0))
    ? "shipped"
    : "part_shipped";
}

export function shipmentWriter(system: string, client: SfccClient): Writer<"shipment"> {
  const attr = client.config.trackingAttribute;
  const site = { siteId: client.config.siteId };

  async function writeOne(s: Shipment, key: string): Promise<WriteResult> {
    const o = await findOrder(client, s.orderNumber);
    if (!o)
      throw new SyncError(
        "permanent",
        `${system}: B2C Commerce has no order ${JSON.stringify(s.orderNumber)} in site ${client.config.siteId}`,
        { system, field: "orderNumber" },
      );
    for (const l of s.lines)
      if (!o.productItems.some((i) => i.productId === l.sku))
        throw new SyncError(
          "permanent",
          `${system}: B2C Commerce order ${o.orderNo} has no product item with SKU ${JSON.stringify(l.sku)}`,
          { system, field: "lines.sku" },
        );
    if (o.status === "cancelled")
      throw new SyncError(
        "permanent",
        `${system}: B2C Commerce order ${o.orderNo} is cancelled and cannot be shipped`,
        { system, field: "orderNumber" },
      );
    const status = shippingStatusOf(s, o);
    const tracking = s.trackingNumbers.join(",");
    const before = o.shippingStatus;
    let wrote = false;
    if (attr && o[attr] !== tracking) {
      await client.write(
        "PATCH",
        client.path("orders", `/orders/${enc(o.orderNo)}`, site),
        { [attr]: tracking },
        "order tracking attribute",
      );
      wrote = true;
    }
    if (before !== status && before !== "shipped") {
      await client.write(
        "PUT",
        client.path("orders", `/orders/${enc(o.orderNo)}/shipping-status`, site),
        { status },
        "order shipping status",
      );
      wrote = true;
    }
    return {
      key,
      ok: true,
      targetId: o.orderNo,
      action: before === "not_shipped" ? "created" : wrote ? "updated" : "unchanged",
      ...(wrote
        ? { note: `B2C Commerce order ${o.orderNo} ${status}${attr ? ` (tracking ${tracking})` : ""}` }
        : {}),
    };
  }

  return {
    entity: "shipment",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            try {
              return await writeOne(item.record, item.key);
            } catch (err) {
              throw explained(err);
            }
          }),
        );
      }
      return results;
    },
    /** The order once it is marked shipped (with these tracking numbers, when they are written). */
    async findByExternalRef(_ref, record) {
      const o = await findOrder(client, record.orderNumber);
      if (!o || o.shippingStatus === "not_shipped" || o.shippingStatus === undefined) return null;
      if (attr && o[attr] !== record.trackingNumbers.join(",")) return null;
      return o.orderNo;
    },
    estimateCalls: (page) => toWrite(page).length * 3 + page.lookups.length,
  };
}
