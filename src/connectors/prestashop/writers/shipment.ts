/**
 * Shipments back to the shop: the order's carrier row (order_carriers) gets the tracking number, then an
 * order_history moves the order to `shippedState` (PrestaShop's "Shipped"), which is how PrestaShop records
 * a state change (and sends the shopper its mail). PrestaShop keeps one tracking number per order carrier
 * and ships whole orders: further numbers and the shipment's lines are not kept. A shipment whose tracking
 * number the carrier row already holds, on an order already in a shipped state, is not written again.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Shipment } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import type { PrestaShopClient } from "../client.ts";
import type { PrestaShopLookups } from "../lookup.ts";
import { PsOrderCarrier, PsOrderHead } from "../native.ts";

/** PrestaShop's isTrackingNumber. */
const TRACKING = /^[~:#,%&_=()[\]. ?a-zA-Z0-9-]+$/;

export function shipmentWriter(
  system: string,
  client: PrestaShopClient,
  lookups: PrestaShopLookups,
): Writer<"shipment"> {
  const order = (n: string) =>
    /^\d+$/.test(n) ? client.one("orders", "order", n, PsOrderHead, "order") : Promise.resolve(null);
  const carrierOf = async (orderId: number) =>
    (
      await client.list(
        "order_carriers",
        `display=full&filter[id_order]=[${orderId}]&sort=[id_ASC]`,
        PsOrderCarrier,
        "order carriers",
      )
    )[0] ?? null;
  const shippedState = async (state: string) =>
    (await lookups.states()).find((s) => String(s.id) === state)?.shipped === "1";

  async function writeOne(s: Shipment, key: string, targetId: string | null): Promise<WriteResult> {
    const [tracking] = s.trackingNumbers;
    if (!tracking || !TRACKING.test(tracking) || tracking.length > 64)
      throw new SyncError(
        "data",
        `tracking number ${JSON.stringify(tracking)} is not one PrestaShop accepts`,
        {
          system,
          field: "trackingNumbers",
        },
      );
    const o = await order(s.orderNumber);
    if (!o)
      throw new SyncError("permanent", `PrestaShop has no order ${s.orderNumber}`, {
        system,
        field: "orderNumber",
      });
    const carrier = await carrierOf(o.id);
    if (!carrier)
      throw new SyncError("permanent", `PrestaShop order ${o.id} has no carrier to hold a tracking number`, {
        system,
      });
    let wrote = false;
    if (carrier.tracking_number !== tracking) {
      await client.write(
        "PATCH",
        "order_carriers",
        "order_carrier",
        { id: carrier.id, fields: { tracking_number: tracking } },
        "order carrier tracking",
      );
      wrote = true;
    }
    if (!(await shippedState(o.current_state))) {
      await client.write(
        "POST",
        "order_histories",
        "order_history",
        { fields: { id_order: o.id, id_order_state: client.config.shippedState } },
        "order state shipped",
      );
      wrote = true;
    }
    return {
      key,
      ok: true,
      targetId: String(carrier.id),
      action: wrote ? (targetId ? "updated" : "created") : "unchanged",
      ...(wrote ? { note: `PrestaShop order ${o.id} shipped (tracking ${tracking})` } : {}),
    };
  }

  return {
    entity: "shipment",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items)
        results.push(await perItem(item.key, system, () => writeOne(item.record, item.key, item.targetId)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const o = await order(record.orderNumber);
      if (!o) return null;
      const carrier = await carrierOf(o.id);
      return carrier &&
        carrier.tracking_number !== "" &&
        carrier.tracking_number === record.trackingNumbers[0]
        ? String(carrier.id)
        : null;
    },
    // Per shipment: the order, its carrier, the tracking write and the state change.
    estimateCalls: (page) => toWrite(page).length * 4 + page.lookups.length * 2,
  };
}
