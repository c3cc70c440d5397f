/**
 * Incremental reads in (last change, id) order. Tryton leaves write_date empty until a record's first
 * write, and its search order cannot sort on "write_date, else create_date", so a server-side keyset on
 * one column would either miss never-written records or mis-order them. Instead a stream first reads a
 * change index, ids and timestamps only, of every row changed at or after the cursor, across the record's
 * own model and its children (a variant, an address, a price list line: a change to a child does not
 * move its parent's write_date), then loads the records page by page in that order. The index costs one
 * light call per source model and run; each page is one load.
 */
import { compareCursors } from "../../core/cursor.ts";
import type { ListRequest } from "../../ports/connector.ts";
import type { Domain, TrytonClient, TrytonRow } from "./client.ts";
import { changedAt, dateTimeValue } from "./codec.ts";

export interface IndexSource {
  model: string;
  /** Filters the rows that count (e.g. goods only). */
  domain: Domain;
  /** Fields needed by parentsOf. */
  fields: string[];
  /** The parent records a changed row belongs to. */
  parentsOf(row: TrytonRow): number[];
  /** Context for the search (e.g. to see archived rows). */
  context?: Record<string, unknown>;
}

/** `[…, OR(write_date >= since, create_date >= since)]`: every row whose last change is at or after `since`. */
export function changedSince(since: string | null): Domain {
  if (!since) return [];
  const at = dateTimeValue(since);
  return [["OR", ["write_date", ">=", at], ["create_date", ">=", at]]];
}

/** Parent id → its latest change among the sources, for every parent with a change at or after `since`. */
export async function changeIndex(
  client: TrytonClient,
  sources: IndexSource[],
  since: string | null,
  signal?: AbortSignal,
): Promise<Map<number, string>> {
  const scans = await Promise.all(
    sources.map((s) =>
      client.searchRead(
        s.model,
        [...s.domain, ...changedSince(since)],
        [...new Set([...s.fields, "write_date", "create_date"])],
        { context: s.context, signal },
      ),
    ),
  );
  const index = new Map<number, string>();
  const sinceMs = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
  scans.forEach((rows, i) => {
    const source = sources[i] as IndexSource;
    for (const row of rows) {
      const at = changedAt(row);
      if (!at || Date.parse(at) < sinceMs) continue;
      for (const parent of source.parentsOf(row)) {
        const prev = index.get(parent);
        if (!prev || Date.parse(at) > Date.parse(prev)) index.set(parent, at);
      }
    }
  });
  return index;
}

/** Index entries in cursor order, from the request's cursor on (inclusive, as the engine expects). */
export function ordered<K>(entries: Iterable<[K, string]>, idOf: (k: K) => string, req: ListRequest) {
  const sinceMs = req.since ? Date.parse(req.since.updatedAt) : Number.NEGATIVE_INFINITY;
  return [...entries]
    .filter(([, at]) => Date.parse(at) >= sinceMs)
    .map(([key, at]) => ({ key, cursor: { updatedAt: at, id: idOf(key) } }))
    .sort((a, b) => compareCursors(a.cursor, b.cursor));
}

/**
 * Loads `entries` (already in cursor order) page by page. `load` gets one page of keys and returns the
 * records it still finds; each gets the index's timestamp so the page keeps its order.
 */
export async function* loadPages<K, N>(
  entries: { key: K; cursor: { updatedAt: string; id: string } }[],
  pageSize: number,
  load: (keys: K[]) => Promise<Map<K, N>>,
  stamp: (native: N, at: string) => N,
): AsyncGenerator<N[]> {
  for (let i = 0; i < entries.length; i += pageSize) {
    const slice = entries.slice(i, i + pageSize);
    const found = await load(slice.map((e) => e.key));
    const page: N[] = [];
    for (const e of slice) {
      const native = found.get(e.key);
      if (native !== undefined) page.push(stamp(native, e.cursor.updatedAt));
    }
    if (page.length > 0) yield page;
  }
}

/**
 * `loadPages` over index entries from the request's cursor on, each record stamped with its index time
 * as `changedAt`. `load` gets one page of keys and returns the records it still finds, keyed by those keys.
 */
export function stampedPages<K, N extends { changedAt: string }>(
  entries: Iterable<[K, string]>,
  idOf: (k: K) => string,
  req: ListRequest,
  load: (keys: K[]) => Promise<Map<K, N>>,
): AsyncGenerator<N[]> {
  return loadPages(ordered(entries, idOf, req), req.pageSize, load, (n, at) => ({ ...n, changedAt: at }));
}

/** The records `found` holds (keyed by `idOf`), keyed by the page's own keys, for `stampedPages`. */
export function byKeys<K, N>(keys: K[], found: Map<string, N>, idOf: (k: K) => string): Map<K, N> {
  return new Map(
    keys.flatMap((k) => {
      const n = found.get(idOf(k));
      return n === undefined ? [] : [[k, n] as const];
    }),
  );
}

/**
 * A stream of one record per parent id: the change index over `sources` since the request's cursor, then
 * the changed parents loaded page by page in (last change, id) order.
 */
export async function* changedRecords<N extends { changedAt: string }>(
  client: TrytonClient,
  sources: IndexSource[],
  req: ListRequest,
  load: (ids: number[], signal?: AbortSignal) => Promise<Map<number, N>>,
): AsyncGenerator<N[]> {
  const index = await changeIndex(client, sources, req.since?.updatedAt ?? null, req.signal);
  yield* stampedPages(index, String, req, (keys) => load(keys, req.signal));
}

/** The record of one id given as a key string; null when the key is no record id or the record is gone. */
export async function recordOfKey<N>(
  key: string,
  load: (ids: number[]) => Promise<Map<number, N>>,
): Promise<N | null> {
  const n = Number(key);
  return Number.isInteger(n) && n > 0 ? ((await load([n])).get(n) ?? null) : null;
}
