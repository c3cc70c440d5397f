/**
 * Writers: products (simple, or variable with variations, found by SKU), stock (stock_quantity with
 * manage_stock), prices (regular_price: WooCommerce core has one price per product or variation, no
 * customer-group prices) and shipments (the order set to completed, the tracking as an order note carrying
 * a marker, so writing it again adds nothing). Every writer compares what the shop holds first and sends
 * nothing for a record already there.
 *
 * Over 400 lines because the four writers sit together: they share the SKU lookup, the path of a product or
 * variation and the compare-before-write rule, and each is short on its own.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { Product, Shipment } from "../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { callsFor, toWrite } from "../call-estimate.ts";
import { failed, perItem } from "../write-results.ts";
import { q, type WooClient } from "./client.ts";
import type { WooCommerceConfig } from "./config.ts";
import { bySku, pathOf, SKU_CHUNK } from "./lookup.ts";
import { WooNote, WooProduct, WooVariation } from "./native.ts";

const STATUS: Record<Product["status"], string> = { active: "publish", draft: "draft", archived: "private" };
const samePrice = (a: string, b: string) => a !== "" && b !== "" && new Big(a).eq(new Big(b));

/** A product is simple in WooCommerce when it has one variant without options: its SKU is the variant's. */
export const isSimple = (p: Product): boolean =>
  p.variants.length === 1 && Object.keys(p.variants[0]?.options ?? {}).length === 0;
export const mainSku = (p: Product): string => (isSimple(p) ? (p.variants[0]?.sku ?? p.key) : p.key);

/** Option names in first-seen order, each with its values in first-seen order. */
function attributesOf(p: Product): { name: string; options: string[] }[] {
  const byName = new Map<string, string[]>();
  for (const v of p.variants)
    for (const [name, value] of Object.entries(v.options)) {
      const list = byName.get(name) ?? [];
      if (!list.includes(value)) list.push(value);
      byName.set(name, list);
    }
  return [...byName].map(([name, options]) => ({ name, options }));
}

const variationBody = (v: Product["variants"][number]) => ({
  sku: v.sku,
  regular_price: v.price,
  status: v.status === "archived" ? "private" : "publish",
  attributes: Object.entries(v.options).map(([name, option]) => ({ name, option })),
});

export function productWriter(system: string, client: WooClient): Writer<"product"> {
  async function current(item: WriteItem<"product">): Promise<z.infer<typeof WooProduct> | null> {
    if (item.targetId) {
      const p = await client.find(`/products/${encodeURIComponent(item.targetId)}?context=edit`, WooProduct);
      if (p) return p;
    }
    const row = (await bySku(client, [mainSku(item.record)])).get(mainSku(item.record));
    return row ? client.find(`/products/${row.id}?context=edit`, WooProduct) : null;
  }

  async function writeVariations(productId: number, p: Product): Promise<boolean> {
    const existing = await client.get(
      `/products/${productId}/variations?${q({ per_page: 100, status: "any", context: "edit" })}`,
      z.array(WooVariation),
      "variations",
    );
    const bySkuHere = new Map(existing.map((v) => [v.sku, v]));
    const create: ReturnType<typeof variationBody>[] = [];
    const update: (ReturnType<typeof variationBody> & { id: number })[] = [];
    for (const v of p.variants) {
      const want = variationBody(v);
      const have = bySkuHere.get(v.sku);
      if (!have) {
        create.push(want);
        continue;
      }
      const sameAttrs =
        have.attributes.length === want.attributes.length &&
        want.attributes.every((a) => have.attributes.some((h) => h.name === a.name && h.option === a.option));
      if (!samePrice(have.regular_price, want.regular_price) || have.status !== want.status || !sameAttrs)
        update.push({ ...want, id: have.id });
    }
    if (create.length === 0 && update.length === 0) return false;
    const res = await client.write(
      "POST",
      `/products/${productId}/variations/batch`,
      { create, update },
      z.object({
        create: z
          .array(z.object({ id: z.number().optional(), error: z.object({ message: z.string() }).optional() }))
          .optional(),
        update: z
          .array(z.object({ id: z.number().optional(), error: z.object({ message: z.string() }).optional() }))
          .optional(),
      }),
      "variations batch",
    );
    const errors = [...(res.create ?? []), ...(res.update ?? [])].filter((r) => r.error);
    if (errors.length > 0) {
      throw new SyncError(
        "permanent",
        `WooCommerce refused variations of ${p.key}: ${errors.map((e) => e.error?.message).join("; ")}`,
        { system, field: "variants" },
      );
    }
    return true;
  }

  async function one(item: WriteItem<"product">): Promise<WriteResult> {
    const p = item.record;
    const simple = isSimple(p);
    const want = {
      name: p.title,
      type: simple ? "simple" : "variable",
      sku: mainSku(p),
      status: STATUS[p.status],
      description: p.description ?? "",
      ...(simple
        ? { regular_price: p.variants[0]?.price ?? "0" }
        : {
            attributes: attributesOf(p).map((a) => ({ ...a, variation: true, visible: true })),
          }),
    };
    const have = await current(item);
    if (!have) {
      const made = await client.write("POST", "/products", want, WooProduct, "product create");
      if (!simple) await writeVariations(made.id, p);
      return { key: item.key, ok: true, targetId: String(made.id), action: "created" };
    }
    if (have.type !== want.type) {
      return failed(
        item.key,
        "permanent",
        `WooCommerce product ${have.id} (SKU ${want.sku}) is ${have.type}, the record makes it ${want.type}: change its type in WooCommerce first`,
        system,
        "variants",
      );
    }
    const attrs = attributesOf(p);
    const sameAttrs =
      simple ||
      (have.attributes.length === attrs.length &&
        attrs.every((a) =>
          have.attributes.some(
            (h) => h.name === a.name && JSON.stringify(h.options ?? []) === JSON.stringify(a.options),
          ),
        ));
    const changed =
      have.name !== want.name ||
      have.status !== want.status ||
      have.description !== want.description ||
      have.sku !== want.sku ||
      (simple && !samePrice(have.regular_price, p.variants[0]?.price ?? "")) ||
      !sameAttrs;
    if (changed) await client.write("PUT", `/products/${have.id}`, want, WooProduct, "product update");
    const variations = simple ? false : await writeVariations(have.id, p);
    return {
      key: item.key,
      ok: true,
      targetId: String(have.id),
      action: changed || variations ? "updated" : "unchanged",
    };
  }

  return {
    entity: "product",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => one(item)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      const row = (await bySku(client, [mainSku(record)])).get(mainSku(record));
      return row && row.type !== "variation" ? String(row.id) : null;
    },
    // Per product: a lookup and a read, a create or update, and for variable products a variation list
    // and its batch.
    estimateCalls: (page) =>
      toWrite(page).reduce((n, i) => n + 3 + (isSimple(i.record) ? 0 : 2), 0) + page.lookups.length,
  };
}

export function inventoryWriter(
  system: string,
  client: WooClient,
  config: WooCommerceConfig,
): Writer<"inventory"> {
  return {
    entity: "inventory",
    async upsert(items) {
      const results: WriteResult[] = [];
      const rows = await bySku(
        client,
        items.map((i) => i.record.sku),
      );
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const r = item.record;
            if (r.location !== config.location) {
              return failed(
                item.key,
                "permanent",
                `WooCommerce keeps one stock figure per product; location ${JSON.stringify(r.location)} is not the configured location ${JSON.stringify(config.location)}`,
                system,
                "location",
              );
            }
            const row = rows.get(r.sku);
            if (!row)
              return failed(
                item.key,
                "permanent",
                `WooCommerce has no product or variation with SKU ${JSON.stringify(r.sku)}`,
                system,
                "sku",
              );
            if (row.type === "variable") {
              return failed(
                item.key,
                "permanent",
                `SKU ${JSON.stringify(r.sku)} is a variable product in WooCommerce; stock is kept per variation`,
                system,
                "sku",
              );
            }
            const targetId = String(row.id);
            if (row.manage_stock === true && row.stock_quantity === r.available)
              return { key: item.key, ok: true, targetId, action: "unchanged" };
            await client.write(
              "PUT",
              pathOf(row),
              { manage_stock: true, stock_quantity: r.available },
              z.object({ id: z.number() }),
              "stock update",
            );
            return {
              key: item.key,
              ok: true,
              targetId,
              action: item.targetId === null ? "created" : "updated",
            };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const row = (await bySku(client, [record.sku])).get(record.sku);
      return row ? String(row.id) : null;
    },
    estimateCalls: (page) =>
      callsFor(toWrite(page).length, SKU_CHUNK) + toWrite(page).length + page.lookups.length,
  };
}

export function priceWriter(system: string, client: WooClient, config: WooCommerceConfig): Writer<"price"> {
  return {
    entity: "price",
    async upsert(items) {
      const results: WriteResult[] = [];
      const rows = await bySku(
        client,
        items.map((i) => i.record.sku),
      );
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const r = item.record;
            if (r.priceList.code !== config.priceList) {
              return failed(
                item.key,
                "permanent",
                `WooCommerce core has one price per product (no customer-group prices without a plugin); price list ${JSON.stringify(r.priceList.code)} is not the configured priceList ${JSON.stringify(config.priceList)}`,
                system,
                "priceList.code",
              );
            }
            if (r.tiers.length > 0)
              return failed(
                item.key,
                "data",
                `WooCommerce core has no quantity-break prices; ${r.key} has ${r.tiers.length} tiers`,
                system,
                "tiers",
              );
            if (r.validFrom || r.validTo)
              return failed(
                item.key,
                "data",
                `WooCommerce's regular_price has no validity dates; ${r.key} has validFrom/validTo`,
                system,
                r.validFrom ? "validFrom" : "validTo",
              );
            const row = rows.get(r.sku);
            if (!row)
              return failed(
                item.key,
                "permanent",
                `WooCommerce has no product or variation with SKU ${JSON.stringify(r.sku)}`,
                system,
                "sku",
              );
            if (row.type === "variable")
              return failed(
                item.key,
                "permanent",
                `SKU ${JSON.stringify(r.sku)} is a variable product in WooCommerce; prices are kept per variation`,
                system,
                "sku",
              );
            const targetId = String(row.id);
            if (samePrice(row.regular_price, r.price))
              return { key: item.key, ok: true, targetId, action: "unchanged" };
            await client.write(
              "PUT",
              pathOf(row),
              { regular_price: r.price },
              z.object({ id: z.number() }),
              "price update",
            );
            return {
              key: item.key,
              ok: true,
              targetId,
              action: item.targetId === null ? "created" : "updated",
            };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const row = (await bySku(client, [record.sku])).get(record.sku);
      return row ? String(row.id) : null;
    },
    estimateCalls: (page) =>
      callsFor(toWrite(page).length, SKU_CHUNK) + toWrite(page).length + page.lookups.length,
  };
}

/** The marker a shipment's note carries; finding it is what makes writing the shipment again a no-op. */
export const shipmentMarker = (key: string): string => `[passerelle shipment ${key}]`;

const OrderStatus = z.object({ id: z.number().int(), status: z.string() });

export function shipmentWriter(system: string, client: WooClient): Writer<"shipment"> {
  async function orderOf(s: Shipment) {
    if (!/^\d+$/.test(s.orderNumber)) {
      throw new SyncError(
        "data",
        `WooCommerce order numbers are order ids; orderNumber is ${JSON.stringify(s.orderNumber)}`,
        {
          system,
          field: "orderNumber",
        },
      );
    }
    const order = await client.find(`/orders/${s.orderNumber}`, OrderStatus);
    if (!order) {
      throw new SyncError("permanent", `WooCommerce has no order ${s.orderNumber} (shipment ${s.key})`, {
        system,
        field: "orderNumber",
      });
    }
    return order;
  }
  const notesOf = (orderId: number) =>
    client.get(`/orders/${orderId}/notes?${q({ type: "any" })}`, z.array(WooNote), "order notes");

  const noteText = (s: Shipment) =>
    [
      `Shipped${s.carrier ? ` with ${s.carrier}` : ""}: tracking ${s.trackingNumbers.join(", ")}`,
      ...s.trackingUrls,
      shipmentMarker(s.key),
    ].join("\n");

  return {
    entity: "shipment",
    updateOnly: true,
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const s = item.record;
            const order = await orderOf(s);
            const marker = shipmentMarker(s.key);
            const note = (await notesOf(order.id)).find((n) => n.note.includes(marker));
            let noteId = note?.id;
            if (noteId === undefined) {
              const made = await client.write(
                "POST",
                `/orders/${order.id}/notes`,
                { note: noteText(s), customer_note: true },
                WooNote,
                "order note",
              );
              noteId = made.id;
            }
            const complete = order.status !== "completed";
            if (complete)
              await client.write(
                "PUT",
                `/orders/${order.id}`,
                { status: "completed" },
                OrderStatus,
                "order complete",
              );
            return {
              key: item.key,
              ok: true,
              targetId: `${order.id}/${noteId}`,
              action: note ? (complete ? "updated" : "unchanged") : "created",
              ...(complete ? { note: `order ${order.id} completed` } : {}),
            };
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const order = await client.find(`/orders/${encodeURIComponent(record.orderNumber)}`, OrderStatus);
      if (!order) return null;
      const note = (await notesOf(order.id)).find((n) => n.note.includes(shipmentMarker(record.key)));
      return note ? `${order.id}/${note.id}` : null;
    },
    // Per shipment: the order, its notes, the note and the status change.
    estimateCalls: (page) => toWrite(page).length * 4 + page.lookups.length * 2,
  };
}
