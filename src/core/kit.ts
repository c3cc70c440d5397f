/**
 * Kits (a product sold as one, made of components) and restocking (when an item that is out is expected
 * back), pure. Passerelle, not the shop, derives what a kit may sell and when an item ships, so every shop
 * gets the same number and the same date from the same ERP data.
 */

export interface KitComponent {
  sku: string;
  /** Units of the component in one kit. */
  quantity: number;
}

/**
 * What a kit may sell: the number of whole kits the components' available-to-sell makes, the minimum over
 * the components of floor(available ÷ quantity per kit). A component with no known stock counts as none;
 * a kit without components sells nothing (it cannot be assembled).
 */
export function kitAvailable(
  components: readonly KitComponent[],
  available: ReadonlyMap<string, number> | ((sku: string) => number | undefined),
): number {
  const of = typeof available === "function" ? available : (sku: string) => available.get(sku);
  if (components.length === 0) return 0;
  let kits = Number.POSITIVE_INFINITY;
  for (const c of components) {
    if (!Number.isInteger(c.quantity) || c.quantity <= 0) {
      throw new RangeError(`kit component ${c.sku}: quantity must be a positive integer, got ${c.quantity}`);
    }
    const stock = Math.max(0, of(c.sku) ?? 0);
    kits = Math.min(kits, Math.floor(stock / c.quantity));
  }
  return kits;
}

export interface KitNode {
  /** The product key. */
  key: string;
  /** The SKUs that sell the product (its variants). */
  skus: readonly string[];
  components: readonly KitComponent[];
}

/**
 * For each kit of `records` that contains itself, directly (a component is one of its own SKUs) or through
 * other kits of `records`, the cycle as product keys (`["A", "B", "A"]`).
 */
export function kitCycles(records: readonly KitNode[]): Map<string, string[]> {
  const productOfSku = new Map<string, string>();
  for (const r of records) for (const s of r.skus) productOfSku.set(s, r.key);
  const byKey = new Map(records.map((r) => [r.key, r]));
  const cycles = new Map<string, string[]>();
  const walk = (start: string, at: string, path: string[], seen: Set<string>): string[] | null => {
    const node = byKey.get(at);
    if (!node) return null;
    for (const c of node.components) {
      const next = productOfSku.get(c.sku);
      if (next === undefined) continue;
      if (next === start) return [...path, start];
      if (seen.has(next)) continue;
      seen.add(next);
      const found = walk(start, next, [...path, next], seen);
      if (found) return found;
    }
    return null;
  };
  for (const r of records) {
    if (r.components.length === 0) continue;
    const cycle = walk(r.key, r.key, [r.key], new Set([r.key]));
    if (cycle) cycles.set(r.key, cycle);
  }
  return cycles;
}

export function kitCycleReason(cycle: readonly string[]): string {
  return cycle.length <= 2
    ? `kit cycle: ${cycle[0]} contains itself`
    : `kit cycle: ${cycle.join(" → ")} (each kit contains the next)`;
}

/** A flow's policy for selling what is out of stock: `allow` takes backorders while a restock date is known. */
export const BACKORDER_POLICIES = ["allow", "deny"] as const;
export type BackorderPolicy = (typeof BACKORDER_POLICIES)[number];

export interface Restock {
  /** The day the item is expected back (ISO date, UTC), today + the supplier's lead time. */
  expectedOn: string;
  /** Whether the shop takes orders for it meanwhile. */
  backorder: boolean;
}

/**
 * When an item that is out of stock is expected back, and whether the shop sells it meanwhile: only out of
 * stock (nothing available) and with a supplier lead time; otherwise nothing (an item in stock ships now,
 * and one without a lead time has no date to promise, so it is not backordered either).
 */
export function restockOf(
  level: { available: number; leadTimeDays?: number | undefined },
  today: Date,
  policy: BackorderPolicy,
): Restock | null {
  if (level.available > 0 || level.leadTimeDays === undefined) return null;
  const day = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const expectedOn = new Date(day + level.leadTimeDays * 86_400_000).toISOString().slice(0, 10);
  return { expectedOn, backorder: policy === "allow" };
}
