/**
 * The per-record plan: what a sync will do with one record, decided from what is known without calling
 * the target. Pure, so `passerelle plan` (a dry run) and a real sync decide the same way.
 */
import type { Canonical, EntityName, Invoice, Order, Price, Product, Refund, Shipment } from "./model.ts";
import { orderTotalCheck } from "./money.ts";
import { refundTotalCheck } from "./refund.ts";

export const PLAN_ACTIONS = ["create", "update", "skip", "error", "hold", "filtered"] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export interface PlanInput {
  entity: EntityName;
  /** The record as the target would receive it; null when it could not be read or mapped. */
  mapped: Canonical | null;
  /** Why the record could not be read or mapped. */
  error: string | null;
  /** The flow's filter left it out. */
  filtered: boolean;
  /** Content hash of `mapped`. */
  hash: string | null;
  /** The record's link in the target, when it was written there before. */
  target: { externalId: string; lastHash: string | null; version?: string | null } | null;
  /** When the source last changed this record (its updatedAt as read). */
  sourceUpdatedAt?: string | null;
  /** A create of this record was started and never confirmed (the target may hold it). */
  pendingIntent?: boolean;
  /** The target's writer only updates records the target holds (Writer.updateOnly). */
  updateOnly?: boolean;
  /** Why the target cannot hold the record at all (Writer.unsupported), or null: skipped with the reason. */
  unsupported?: string | null;
  /** The flow lets a price of 0 through (free items); otherwise such a record is an error. */
  allowFreeItems?: boolean;
  /** The record this one belongs to (see parentOf), and whether the target holds it (has a link for it). */
  parent?: (ParentRef & { system: string; inTarget: boolean }) | null;
}

export interface ParentRef {
  entity: EntityName;
  key: string;
}

/**
 * The record a shipment or an invoice belongs to: its order. It is written only to a target that holds
 * that order, which Passerelle knows from its links (the order came from that system, the shop sent it,
 * or was written there) or from the order's key (`<connection>:<number>` naming that system). A sale entered in the ERP alone (a phone order) has no order in the shop, so its
 * delivery is not for the shop: it is skipped with that reason, not failed.
 */
export function parentOf(entity: EntityName, record: Canonical): ParentRef | null {
  if (entity === "shipment") return { entity: "order", key: (record as Shipment).orderKey };
  if (entity === "invoice") {
    const key = (record as Invoice).orderKey;
    return key === undefined ? null : { entity: "order", key };
  }
  return null;
}

/** Why a record is not for its target (the order it belongs to is not there), or null. */
export function notInTargetReason(input: PlanInput): string | null {
  const parent = input.parent;
  if (!parent || parent.inTarget) return null;
  return `${parent.entity} ${parent.key} is not in ${parent.system} (it did not come from there and was never written there); not sent`;
}

export interface PlanDecision {
  action: PlanAction;
  targetId: string | null;
  reason?: string;
}

/**
 * Why an order or a refund must not be written as it is (its total does not add up), or null. A cancelled
 * order is exempt: nothing is booked from it, and shops zero a cancelled order's total while keeping its
 * lines. A refund is checked against its own breakdown (core/refund.ts refundTotalCheck).
 */
export function holdReason(entity: EntityName, record: Canonical): string | null {
  if (entity === "refund") {
    const check = refundTotalCheck(record as Refund);
    return check.ok ? null : check.reason;
  }
  if (entity !== "order" || (record as Order).cancelled) return null;
  const check = orderTotalCheck(record as Order);
  return check.ok ? null : check.reason;
}

const isZero = (amount: string) => /^-?0*(\.0*)?$/.test(amount);

/**
 * Why a record would publish a price of zero, or null. A zero price in a shop is an item given away, far
 * more often a price list line nobody filled in than a decision; a flow that really sells free items says so
 * with `allowFreeItems: true`. (Negative prices are refused by the canonical schema itself.)
 */
export function freeItemReason(entity: EntityName, record: Canonical): string | null {
  if (entity === "product") {
    const p = record as Product;
    const free = p.variants.filter((v) => isZero(v.price)).map((v) => v.sku);
    if (free.length === 0) return null;
    return `product ${p.key}: price 0 ${p.currency} for ${free.join(", ")}; free items are refused unless the flow sets allowFreeItems: true`;
  }
  if (entity === "price") {
    const p = record as Price;
    if (!isZero(p.price) && !p.tiers.some((t) => isZero(t.price))) return null;
    return `price ${p.key}: 0 ${p.priceList.currency} in price list ${p.priceList.code}; free items are refused unless the flow sets allowFreeItems: true`;
  }
  return null;
}

/** Entities whose older readings must never overwrite newer ones: a stock level is a measurement, not an edit. */
const GUARDED_BY_VERSION: ReadonlySet<EntityName> = new Set(["inventory"]);

/**
 * Why a record is older than what the target last received from the same source (a stock level read
 * before the one already applied for that item and location), or null. Unreadable stamps never block.
 */
export function staleReason(input: PlanInput): string | null {
  if (!GUARDED_BY_VERSION.has(input.entity)) return null;
  const applied = input.target?.version ?? null;
  const read = input.sourceUpdatedAt ?? null;
  if (applied === null || read === null) return null;
  const a = Date.parse(applied);
  const r = Date.parse(read);
  if (Number.isNaN(a) || Number.isNaN(r) || r >= a) return null;
  return `stale: read at ${read}, older than the level already applied (${applied}); discarded`;
}

/**
 * error: it cannot be mapped, or it would publish a price of zero (see freeItemReason); filtered: the flow
 * leaves it out; skip: the target cannot hold the record at all (Writer.unsupported), the target already has
 * exactly this content, the record is older than what it already has (stock: see staleReason), it is an
 * order cancelled before it ever reached the target, the order it belongs to is not in the target (see
 * parentOf), or the target's writer only updates and does not hold it; hold: an order whose money does not
 * add up (never written, whether new or not); otherwise update when the target has it, create when it does
 * not.
 */
export function planRecord(input: PlanInput): PlanDecision {
  const targetId = input.target?.externalId ?? null;
  if (input.error !== null || input.mapped === null) {
    return { action: "error", targetId, reason: input.error ?? "record could not be mapped" };
  }
  if (input.filtered) return { action: "filtered", targetId };
  if (input.unsupported) return { action: "skip", targetId, reason: input.unsupported };
  const free = input.allowFreeItems ? null : freeItemReason(input.entity, input.mapped);
  if (free) return { action: "error", targetId, reason: free };
  const stale = staleReason(input);
  if (stale) return { action: "skip", targetId, reason: stale };
  if (
    input.entity === "order" &&
    (input.mapped as Order).cancelled &&
    input.target === null &&
    !input.pendingIntent
  ) {
    return {
      action: "skip",
      targetId,
      reason: "cancelled before it was ever written to the target: nothing to create",
    };
  }
  if (input.target && input.hash !== null && input.target.lastHash === input.hash) {
    return { action: "skip", targetId };
  }
  if (input.updateOnly && input.target === null) {
    return {
      action: "skip",
      targetId,
      reason: `the target holds no ${input.entity} with this key and only updates what it holds: nothing to create`,
    };
  }
  const orphan = notInTargetReason(input);
  if (orphan) return { action: "skip", targetId, reason: orphan };
  const hold = holdReason(input.entity, input.mapped);
  if (hold) return { action: "hold", targetId, reason: hold };
  return { action: input.target ? "update" : "create", targetId };
}
