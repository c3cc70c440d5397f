/** Readers for Odoo field values, which use `false` for "empty" whatever the field's type. */
import { SyncError } from "../../core/errors.ts";
import type { OdooRow } from "./client.ts";

export function str(row: OdooRow, field: string): string | undefined {
  const v = row[field];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function num(row: OdooRow, field: string): number {
  const v = row[field];
  return typeof v === "number" ? v : 0;
}

export function bool(row: OdooRow, field: string): boolean {
  return row[field] === true;
}

export function many2one(row: OdooRow, field: string): { id: number; name: string } | undefined {
  const v = row[field];
  if (Array.isArray(v) && typeof v[0] === "number")
    return { id: v[0], name: typeof v[1] === "string" ? v[1] : "" };
  if (typeof v === "number") return { id: v, name: "" };
  return undefined;
}

export function ids(row: OdooRow, field: string): number[] {
  const v = row[field];
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : [];
}

export function requireStr(row: OdooRow, field: string, model: string): string {
  const v = str(row, field);
  if (v === undefined) {
    throw new SyncError("data", `${model}(${row.id}) has no ${field}`, { field });
  }
  return v;
}

/** Odoo floats as canonical decimal strings at the currency's 2 decimals. */
export function money(value: number): string {
  const fixed = (Math.round((Math.abs(value) + Number.EPSILON) * 100) / 100).toFixed(2);
  return value < 0 && fixed !== "0.00" ? `-${fixed}` : fixed;
}

export function uniq(values: (number | undefined)[]): number[] {
  return [...new Set(values.filter((v): v is number => v !== undefined))];
}
