/**
 * The per-record plan: what a sync will do with one record, decided from what is known without calling
 * the target. Pure, so `passerelle plan` (a dry run) and a real sync decide the same way.
 */
import type { Canonical, EntityName, Invoice, Order, Shipment } from "./model.ts";
import { orderTotalCheck } from "./money.ts";

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
  /** The record this one belongs to (see parentOf), and whether the target holds it (has a link for it). */
  parent?: (ParentRef & { system: string; inTarget: boolean }) | null;
}

export interface ParentRef {
  entity: EntityName;
  key: string;
}

/**
 * The record a shipment or an invoice belongs to: its order. It is written only to a target that holds
 * that order, which Passerelle knows from its links: the order came from that system (the shop sent it)
 * or was written there. A sale entered in the ERP alone (a phone order) has no order in the shop, so its
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

/** Why an order must not be written as it is (its total does not add up), or null. */
export function holdReason(entity: EntityName, record: Canonical): string | null {
  if (entity !== "order") return null;
  const check = orderTotalCheck(record as Order);
  return check.ok ? null : check.reason;
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
 * error: it cannot be mapped; filtered: the flow leaves it out; skip: the target already has exactly this
 * content, or the record is older than what it already has (stock: see staleReason), or the order it
 * belongs to is not in the target (see parentOf); hold: an order whose money does not add up (never
 * written, whether new or not); otherwise update when the target has it, create when it does not.
 */
export function planRecord(input: PlanInput): PlanDecision {
  const targetId = input.target?.externalId ?? null;
  if (input.error !== null || input.mapped === null) {
    return { action: "error", targetId, reason: input.error ?? "record could not be mapped" };
  }
  if (input.filtered) return { action: "filtered", targetId };
  const stale = staleReason(input);
  if (stale) return { action: "skip", targetId, reason: stale };
  if (input.target && input.hash !== null && input.target.lastHash === input.hash) {
    return { action: "skip", targetId };
  }
  const orphan = notInTargetReason(input);
  if (orphan) return { action: "skip", targetId, reason: orphan };
  const hold = holdReason(input.entity, input.mapped);
  if (hold) return { action: "hold", targetId, reason: hold };
  return { action: input.target ? "update" : "create", targetId };
}
