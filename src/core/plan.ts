/**
 * The per-record plan: what a sync will do with one record, decided from what is known without calling
 * the target. Pure, so `passerelle plan` (a dry run) and a real sync decide the same way.
 */
import type { Canonical, EntityName, Order } from "./model.ts";
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
  target: { externalId: string; lastHash: string | null } | null;
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

/**
 * error: it cannot be mapped; filtered: the flow leaves it out; skip: the target already has exactly this
 * content; hold: an order whose money does not add up (never written, whether new or not); otherwise update
 * when the target has it, create when it does not.
 */
export function planRecord(input: PlanInput): PlanDecision {
  const targetId = input.target?.externalId ?? null;
  if (input.error !== null || input.mapped === null) {
    return { action: "error", targetId, reason: input.error ?? "record could not be mapped" };
  }
  if (input.filtered) return { action: "filtered", targetId };
  if (input.target && input.hash !== null && input.target.lastHash === input.hash) {
    return { action: "skip", targetId };
  }
  const hold = holdReason(input.entity, input.mapped);
  if (hold) return { action: "hold", targetId, reason: hold };
  return { action: input.target ? "update" : "create", targetId };
}
