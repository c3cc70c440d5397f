/** Readers for Tryton field values (null for "empty"; many2one as an id). */
import type { TrytonRow } from "./client.ts";

export function str(row: TrytonRow | undefined, field: string): string | undefined {
  const v = row?.[field];
  return typeof v === "string" && v.trim() !== "" ? v : undefined;
}

export function id(row: TrytonRow | undefined, field: string): number | undefined {
  const v = row?.[field];
  return typeof v === "number" ? v : undefined;
}

export function ids(row: TrytonRow | undefined, field: string): number[] {
  const v = row?.[field];
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : [];
}

/** A boolean field: Tryton on SQLite answers 0 / 1, on PostgreSQL false / true; absent or null is `fallback`. */
export function bool(row: TrytonRow | undefined, field: string, fallback = false): boolean {
  const v = row?.[field];
  return v === null || v === undefined ? fallback : v === true || v === 1;
}

export function num(row: TrytonRow | undefined, field: string): number {
  const v = row?.[field];
  return typeof v === "number" ? v : 0;
}

export function uniq(values: (number | undefined)[]): number[] {
  return [...new Set(values.filter((v): v is number => v !== undefined))];
}

/** `"sale.line,12"` → { model: "sale.line", id: 12 }. */
export function reference(
  row: TrytonRow | undefined,
  field: string,
): { model: string; id: number } | undefined {
  const v = str(row, field);
  const m = v ? /^([\w.]+),(\d+)$/.exec(v) : null;
  return m ? { model: m[1] as string, id: Number(m[2]) } : undefined;
}
