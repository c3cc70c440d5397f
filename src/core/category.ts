/**
 * The category tree's rules, pure: which categories close a cycle through their parents, and the order a
 * batch is written in (parents before their children). Both work over what a page brings and what the
 * target already holds, so a move that would put a category under its own descendant is caught whether
 * the descendant came in the same page or long before.
 */

export interface CategoryNode {
  key: string;
  parent?: string | undefined;
}

/**
 * For each category of `records` whose parent chain comes back to itself, the cycle as keys
 * (`["a", "b", "a"]`). `known` gives the parent of categories not in `records` (the target's tree as last
 * written); a record's own parent always wins over what `known` says of it.
 */
export function categoryCycles(
  records: readonly CategoryNode[],
  known: ReadonlyMap<string, string | undefined> = new Map(),
): Map<string, string[]> {
  const parentOf = new Map(known);
  for (const r of records) parentOf.set(r.key, r.parent);
  const cycles = new Map<string, string[]>();
  for (const r of records) {
    const seen: string[] = [r.key];
    let at = parentOf.get(r.key);
    while (at !== undefined) {
      if (at === r.key) {
        cycles.set(r.key, [...seen, r.key]);
        break;
      }
      // A cycle above this record that does not pass through it: its own members report it.
      if (seen.includes(at)) break;
      seen.push(at);
      at = parentOf.get(at);
    }
  }
  return cycles;
}

/** The reason a category in a cycle is refused, naming the cycle. */
export function cycleReason(cycle: readonly string[]): string {
  return `category cycle: ${cycle.join(" → ")} (a category cannot sit below itself); not written`;
}

/**
 * The batch in write order: every category after its parent when both are in the batch, otherwise in the
 * order given. Members of a cycle keep their place (they are refused before this).
 */
export function parentsFirst<T extends CategoryNode>(records: readonly T[]): T[] {
  const byKey = new Map(records.map((r) => [r.key, r]));
  const out: T[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (r: T) => {
    if (placed.has(r.key) || visiting.has(r.key)) return;
    visiting.add(r.key);
    const parent = r.parent === undefined ? undefined : byKey.get(r.parent);
    if (parent) place(parent);
    visiting.delete(r.key);
    placed.add(r.key);
    out.push(r);
  };
  for (const r of records) place(r);
  return out;
}

/** Flow entities in the order their flows run: categories before the products that reference them. */
const RUN_RANK: Readonly<Record<string, number>> = { category: 0 };

/** Flow names in run order (categories first), otherwise as given. */
export function inRunOrder(flows: readonly { name: string; entity: string }[]): string[] {
  return flows
    .map((f, i) => ({ ...f, i, rank: RUN_RANK[f.entity] ?? 1 }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((f) => f.name);
}
