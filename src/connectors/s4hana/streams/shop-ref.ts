/**
 * The shop order a sales order was written for, read back from PurchaseOrderByCustomer, where the order
 * writer puts the canonical order key (`<connection>:<order number>`, writers/order.ts refFor). A key
 * longer than the field's 35 characters was cut and ended with `~` and ten hex digits of a hash
 * (writers/order.ts refFor): it cannot be read back.
 */

export type ShopRef = { kind: "key"; key: string } | { kind: "shortened"; value: string } | null;

const KEY = /^[^\s:]+:\S/;

/** What PurchaseOrderByCustomer tells of the shop order; null when it names none (not a shop order). */
export function shopRefOf(value: unknown): ShopRef {
  if (typeof value !== "string" || !KEY.test(value)) return null;
  if (value.length === 35 && /~[0-9a-f]{10}$/.test(value)) return { kind: "shortened", value };
  return { kind: "key", key: value };
}
