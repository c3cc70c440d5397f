/**
 * Shipments back to the shop: `POST /order/{id}/ship` with the tracking numbers as tracks, which moves the
 * order to `complete` once everything is shipped (and paid). The order is found by its number
 * (increment_id). Lines are matched by SKU against the order's shippable items — a configurable product's
 * parent line, which carries the child's SKU, not the child line under it; a shipment without lines ships
 * what is left. Magento keeps no reference of ours on a shipment, so its comment carries a marker with the
 * shipment key: a shipment already made is found by it and never made twice.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { explained, type MagentoClient, searchCriteria } from "../client.ts";
import { MagentoOrder, MagentoShipment, SearchResult } from "../native.ts";

const marker = (key: string) => `[passerelle ${key}]`;

const CARRIERS: Record<string, string> = { ups: "ups", usps: "usps", fedex: "fedex", dhl: "dhl" };

export function shipmentWriter(system: string, client: MagentoClient): Writer<"shipment"> {
  async function order(number: string) {
    const r = await client.get(
      "all",
      `/orders?${searchCriteria({ groups: [[{ field: "increment_id", value: number }]], pageSize: 1, currentPage: 1 })}`,
      SearchResult(MagentoOrder),
      "order by number",
    );
    return r.items.find((o) => o.increment_id === number) ?? null;
  }

  async function existing(orderId: number, key: string): Promise<string | null> {
    const r = await client.get(
      "all",
      `/shipments?${searchCriteria({ groups: [[{ field: "order_id", value: orderId }]] })}`,
      SearchResult(MagentoShipment),
      "shipments of the order",
    );
    const found = r.items.find((s) => (s.comments ?? []).some((c) => c.comment.includes(marker(key))));
    return found ? String(found.entity_id) : null;
  }

  async function writeOne(s: Shipment, key: string): Promise<WriteResult> {
    const o = await order(s.orderNumber);
    if (!o)
      throw new SyncError("permanent", `Magento has no order ${s.orderNumber}`, {
        system,
        field: "orderNumber",
      });
    const made = await existing(o.entity_id, key);
    if (made) return { key, ok: true, targetId: made, action: "unchanged" };
    const shippable = o.items.filter((i) => i.parent_item_id === null || i.parent_item_id === undefined);
    const items = s.lines.map((l) => {
      const item = shippable.find((i) => i.sku === l.sku);
      if (!item)
        throw new SyncError("permanent", `Magento order ${s.orderNumber} has no line with SKU ${l.sku}`, {
          system,
          field: "lines.sku",
        });
      return { order_item_id: item.item_id, qty: l.quantity };
    });
    const carrier = s.carrier ?? "";
    const id = await client.write(
      "POST",
      "all",
      `/order/${o.entity_id}/ship`,
      {
        ...(items.length > 0 ? { items } : {}),
        notify: client.config.notifyCustomer,
        tracks: s.trackingNumbers.map((n) => ({
          track_number: n,
          title: carrier || "Tracking",
          carrier_code: CARRIERS[carrier.toLowerCase()] ?? "custom",
        })),
        comment: { comment: `Shipped ${s.key} ${marker(key)}`, is_visible_on_front: 0 },
      },
      z.number().int(),
      "ship",
    );
    return {
      key,
      ok: true,
      targetId: String(id),
      action: "created",
      note: `Magento order ${s.orderNumber} shipped (shipment ${id})`,
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
    async findByExternalRef(ref, record) {
      const o = await order(record.orderNumber);
      return o ? existing(o.entity_id, ref) : null;
    },
    // Per shipment: the order, its shipments, the ship call.
    estimateCalls: (page) => toWrite(page).length * 3 + page.lookups.length * 2,
  };
}
