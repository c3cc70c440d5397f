/**
 * Small pure helpers the emulators need. They are copied from the product (src/core/prng.ts,
 * src/core/sorted.ts, src/core/show.ts, src/config/secrets.ts) rather than imported, so this package
 * compiles and runs on its own and never reaches into the product's sources: the emulators are the other
 * side of every contract the connectors test against, and share no code with them.
 */

/** A small seeded pseudo-random generator (mulberry32), so seeded data and chaos runs are reproducible. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    chance: (p) => next() < p,
  };
}

/** Index of the first element of an ascending id list that is >= `id` (the list's length when none is). */
export function idBound(list: readonly number[], id: number): number {
  let a = 0;
  let b = list.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((list[m] as number) < id) a = m + 1;
    else b = m;
  }
  return a;
}

/** A value for a message: JSON, cut short. */
export function show(value: unknown, max = 80): string {
  let text: string;
  try {
    text = value === undefined ? "undefined" : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A validation issue's path as `lines[0].sku`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(root)" : out;
}
