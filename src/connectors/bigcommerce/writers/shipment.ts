/**
 * Shipments back to the store: `POST /v2/orders/{id}/shipments` with the tracking number and carrier, the
 * order's shipping address and the lines shipped (by SKU against the order's products; a shipment without
 * lines ships what is left), which moves the order to Shipped or Partially Shipped. BigCommerce keeps one
 * tracking number per shipment: further numbers go into the shipment's comments. It keeps no reference of
 * ours either, so the comments carry a marker with the shipment key: a shipment already made is found by it
 * and never made twice.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { type BigCommerceClient, explained } from "../client.ts";
import { BcOrderHead, BcShipment } from "../native.ts";
import { withLines } from "../streams.ts";

const marker = (key: string) => `[passerelle ${key}]`;

/** Carriers BigCommerce tracks by name (its tracking-carrier values); others go as the shipping method only. */
const CARRIERS: Record<string, string> = {
  ups: "ups",
  usps: "usps",
  fedex: "fedex",
  dhl: "dhl",
  "royal mail": "royal-mail",
  "australia post": "australia-post",
};

export function shipmentWriter(system: string, client: BigCommerceClient): Writer<"shipment"> {
  async function existing(orderId: number, key: string): Promise<string | null> {
    const got =
      (await client.find(
        `/v2/orders/${orderId}/shipments?page=1&limit=250`,
        z.array(BcShipment),
        "shipments of the order",
        [],
      )) ?? [];
    const found = got.find((s) => s.comments.includes(marker(key)));
    return found ? String(found.id) : null;
  }

  async function writeOne(s: Shipment, key: string): Promise<WriteResult> {
    const head = /^\d+$/.test(s.orderNumber)
      ? await client.find(`/v2/orders/${s.orderNumber}`, BcOrderHead, "order")
      : null;
    if (!head)
      throw new SyncError("permanent", `BigCommerce has no order ${s.orderNumber}`, {
        system,
        field: "orderNumber",
      });
    const made = await existing(head.id, key);
    if (made) return { key, ok: true, targetId: made, action: "unchanged" };
    const o = await withLines(client, head);
    const items =
      s.lines.length > 0
        ? s.lines.map((l) => {
            const line = o.lines.find((x) => x.sku === l.sku);
            if (!line)
              throw new SyncError(
                "permanent",
                `BigCommerce order ${s.orderNumber} has no line with SKU ${l.sku}`,
                { system, field: "lines.sku" },
              );
            return { order_product_id: line.id, quantity: l.quantity };
          })
        : o.lines
            .filter((x) => x.quantity - (x.quantity_shipped ?? 0) > 0)
            .map((x) => ({ order_product_id: x.id, quantity: x.quantity - (x.quantity_shipped ?? 0) }));
    if (items.length === 0)
      throw new SyncError("permanent", `BigCommerce order ${s.orderNumber} has nothing left to ship`, {
        system,
      });
    const addressId = o.shippingAddresses[0]?.id ?? o.lines[0]?.order_address_id;
    if (addressId === null || addressId === undefined)
      throw new SyncError("permanent", `BigCommerce order ${s.orderNumber} has no shipping address`, {
        system,
      });
    const carrier = s.carrier ?? "";
    const [first, ...more] = s.trackingNumbers;
    const created = await client.write(
      "POST",
      `/v2/orders/${head.id}/shipments`,
      {
        order_address_id: addressId,
        ...(first ? { tracking_number: first.slice(0, 50) } : {}),
        ...(CARRIERS[carrier.toLowerCase()] ? { tracking_carrier: CARRIERS[carrier.toLowerCase()] } : {}),
        ...(carrier ? { shipping_method: carrier } : {}),
        comments: `${more.length > 0 ? `Also tracked as ${more.join(", ")}. ` : ""}${marker(key)}`,
        items,
      },
      BcShipment,
      "shipment create",
    );
    return {
      key,
      ok: true,
      targetId: String(created.id),
      action: "created",
      note: `BigCommerce order ${head.id} shipped (shipment ${created.id})`,
    };
  }

  return {
    entity: "shipment",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items)
        results.push(
          await perItem(item.key, system, async () => {
            try {
              return await writeOne(item.record, item.key);
            } catch (err) {
              throw explained(err);
            }
          }),
        );
      return results;
    },
    async findByExternalRef(ref, record) {
      if (!/^\d+$/.test(record.orderNumber)) return null;
      const head = await client.find(`/v2/orders/${record.orderNumber}`, BcOrderHead, "order");
      return head ? existing(head.id, ref) : null;
    },
    // Per shipment: the order, its shipments, its products and shipping addresses, the create.
    estimateCalls: (page) => toWrite(page).length * 5 + page.lookups.length * 3,
  };
}
