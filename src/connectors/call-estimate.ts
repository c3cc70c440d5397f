/**
 * Arithmetic the writers' `estimateCalls` share. Each writer states its own batching with these, next to
 * the code that batches, so `passerelle plan` counts calls the way `upsert` makes them.
 */
import type { EntityName } from "../core/model.ts";
import type { PlannedPage, WriteItem } from "../ports/connector.ts";

/** Calls to send `count` entries `size` at a time. */
export function callsFor(count: number, size: number): number {
  return count === 0 ? 0 : Math.ceil(count / size);
}

/** Distinct values in a list. */
export function distinct(values: Iterable<string>): number {
  return new Set(values).size;
}

/** Every record the page would write, creates first. */
export function toWrite<E extends EntityName>(page: PlannedPage<E>): WriteItem<E>[] {
  return [...page.create, ...page.update];
}

/**
 * Batches of at most `size` entries, none holding the same key twice (a vendor refuses one variant twice
 * in one call): later duplicates wait for the next batch, as the writers send them.
 */
export function batchesWithoutRepeats(keys: readonly string[], size: number): number {
  let pending = keys;
  let batches = 0;
  while (pending.length > 0) {
    const seen = new Set<string>();
    const later: string[] = [];
    for (const k of pending) {
      if (seen.size < size && !seen.has(k)) seen.add(k);
      else later.push(k);
    }
    batches++;
    pending = later;
  }
  return batches;
}

/** Keys grouped by another key: e.g. SKUs per price list. */
export function groupBy<T>(items: readonly T[], by: (t: T) => string, value: (t: T) => string) {
  const groups = new Map<string, string[]>();
  for (const t of items) {
    const list = groups.get(by(t)) ?? [];
    list.push(value(t));
    groups.set(by(t), list);
  }
  return groups;
}

/**
 * A writer that sends one record at a time: calls per create and per update, plus what each batch reads
 * first (`perBatch`) and one lookup per interrupted create.
 */
export function perRecord(costs: { create: number; update: number; perBatch?: number }) {
  return (page: PlannedPage): number => {
    const records = page.create.length + page.update.length;
    return (
      (records > 0 ? (costs.perBatch ?? 0) : 0) +
      costs.create * page.create.length +
      costs.update * page.update.length +
      page.lookups.length
    );
  };
}

/**
 * A writer that looks its page's SKUs up `lookupSize` at a time and sends records `size` per call, per
 * group (a price list's channel); `perGroup` calls are paid once per group on the run's first page (the
 * group's lookups, kept afterwards).
 */
export function skuBatched<E extends "price" | "inventory">(costs: {
  lookupSize: number;
  size: number;
  groupOf?: (item: WriteItem<E>) => string;
  perGroup?: number;
}) {
  return (page: PlannedPage<E>): number => {
    const groups = groupBy(
      toWrite(page),
      (i) => costs.groupOf?.(i) ?? "",
      (i) => i.record.sku,
    );
    let calls = page.lookups.length;
    for (const skus of groups.values()) {
      calls += callsFor(distinct(skus), costs.lookupSize) + callsFor(skus.length, costs.size);
      if (page.first) calls += costs.perGroup ?? 0;
    }
    return calls;
  };
}
