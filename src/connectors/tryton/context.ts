import { asSyncError, SyncError } from "../../core/errors.ts";
import { priceListGroup as sharedPriceListGroup } from "../price-lists.ts";
import type { TrytonClient, TrytonRow } from "./client.ts";
import type { TrytonConfig } from "./config.ts";

/** What every stream and writer of one Tryton connection shares. */
export interface TrytonContext {
  client: TrytonClient;
  /** Connection name: the `source` of canonical records and the prefix of Tryton-born keys. */
  name: string;
  config: TrytonConfig;
  /** The company currency's ISO code (read once). */
  currency(signal?: AbortSignal): Promise<string>;
  /**
   * Whether the database has a model (its module activated): kits need product_kit (`product.component`),
   * supplier lead times purchase (`purchase.product_supplier`). Asked once per model and connection.
   */
  hasModel(model: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Codes of the languages set translatable in Tryton (ir.lang) other than the connection's own: the ones
   * translatable names and descriptions are read in (read once per connection).
   */
  otherLanguages(signal?: AbortSignal): Promise<string[]>;
}

/** See TrytonContext.otherLanguages. */
export function translatableLanguages(client: TrytonClient): (signal?: AbortSignal) => Promise<string[]> {
  let cached: Promise<string[]> | null = null;
  return (signal) => {
    cached ??= (async () => {
      const [rows, context] = await Promise.all([
        client.searchRead("ir.lang", [["translatable", "=", true]], ["code"], { signal }),
        client.context(signal),
      ]);
      const own = typeof context.language === "string" ? context.language : undefined;
      return rows
        .map((r) => (typeof r.code === "string" ? r.code : undefined))
        .filter((c): c is string => c !== undefined && c !== own);
    })();
    cached.catch(() => {
      cached = null;
    });
    return cached;
  };
}

/** Which optional models the database has (see TrytonContext.hasModel), each asked of ir.model once. */
export function modelProbe(client: TrytonClient): (model: string, signal?: AbortSignal) => Promise<boolean> {
  const cache = new Map<string, Promise<boolean>>();
  return (model, signal) => {
    let found = cache.get(model);
    if (!found) {
      found = client
        .searchRead("ir.model", [["model", "=", model]], ["model"], { signal })
        .then((rows) => rows.length > 0);
      found.catch(() => cache.delete(model));
      cache.set(model, found);
    }
    return found;
  };
}

/** The company currency, read once per connection: prices and amounts without their own currency use it. */
export function companyCurrency(client: TrytonClient): (signal?: AbortSignal) => Promise<string> {
  let cached: Promise<string> | null = null;
  return (signal) => {
    if (!cached) {
      cached = (async () => {
        const ctx = await client.context(signal);
        const company = typeof ctx.company === "number" ? ctx.company : null;
        const rows = company
          ? await client.read("company.company", [company], ["currency.code"], { signal })
          : [];
        const code = nested(rows[0], "currency", "code");
        return typeof code === "string" && /^[A-Z]{3}$/.test(code) ? code : "EUR";
      })();
      cached.catch(() => {
        cached = null;
      });
    }
    return cached;
  };
}

/** A dotted read ("currency.code") comes back as `"currency.": { code }`. */
export function nested(row: TrytonRow | undefined, field: string, sub: string): unknown {
  const v = row?.[`${field}.`];
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>)[sub] : undefined;
}

export { afterPrefix } from "../price-lists.ts";

/**
 * The customer group a price list serves, from its name (see price-lists.ts): "Wholesale EUR" →
 * "wholesale". A party's sale price list (party.sale_price_list) is therefore its customer group.
 */
export function priceListGroup(name: string): { code: string; group: string } {
  return sharedPriceListGroup(name, "price-list");
}

/** Any failure as a SyncError that names the system it came from. */
export function failure(err: unknown, system: string): SyncError {
  const e = asSyncError(err, system);
  if (e.details.system) return e;
  return new SyncError(e.kind, e.message, { ...e.details, system, cause: e.details.cause ?? e });
}
