/**
 * Incremental reads of a Vendure list query in (updatedAt, id) order. Vendure pages with skip/take, and an
 * offset skips a record whenever an earlier one moves while paging; so each page restarts from the last
 * updatedAt seen (`between` is inclusive) and skips only the records already read at that instant. A record
 * updated while paging moves past the signpost, out of this read, and is read by the next run.
 */
import type { z } from "zod";
import { compareCursors } from "../../../core/cursor.ts";
import type { CanonicalByEntity, EntityName } from "../../../core/model.ts";
import type { ListRequest, Stream } from "../../../ports/connector.ts";
import type { VendureClient } from "../client.ts";

const EPOCH = "1970-01-01T00:00:00.000Z";

/**
 * On SQLite Vendure stores whole seconds as text ("2026-05-01 10:00:00") and compares the filter as text,
 * so "2026-05-01 10:00:00.000" would exclude the very second it names. One millisecond earlier is below it
 * in both text and time; whatever that adds (on databases with finer stamps) sorts first and is dropped.
 */
function justBefore(iso: string): string {
  return new Date(Date.parse(iso) - 1).toISOString();
}

export interface ListQuery<N> {
  /** `query($options: XListOptions) { field(options: $options) { items { … } totalItems } }` */
  document: string;
  field: string;
  answer: z.ZodType<Record<string, { items: N[]; totalItems: number }>>;
  /** Filters besides the time window. */
  filter?: Record<string, unknown>;
  /** The timestamp field the keyset runs on (default `updatedAt`); `updatedAt(n)` reads its value. */
  timeField?: "updatedAt" | "createdAt";
  updatedAt(n: N): string;
  id(n: N): string;
}

export function byCursor<N>(q: Pick<ListQuery<N>, "updatedAt" | "id">): (a: N, b: N) => number {
  return (a, b) =>
    compareCursors({ updatedAt: q.updatedAt(a), id: q.id(a) }, { updatedAt: q.updatedAt(b), id: q.id(b) });
}

export async function* keysetPages<N>(
  client: VendureClient,
  q: ListQuery<N>,
  req: ListRequest,
  maxPage: number,
): AsyncIterable<N[]> {
  const take = Math.max(1, Math.min(req.pageSize, maxPage));
  const sort = byCursor(q);
  let start = req.since?.updatedAt ?? EPOCH;
  let skip = 0;
  let seenAtStart = new Set<string>();
  const field = q.timeField ?? "updatedAt";
  for (;;) {
    const options = {
      take,
      skip,
      sort: { [field]: "ASC", id: "ASC" },
      filter: { ...q.filter, [field]: { between: { start: justBefore(start), end: req.signpost } } },
      filterOperator: "AND",
    };
    const data = await client.request(q.document, { options }, q.answer, { signal: req.signal });
    const items = [...(data[q.field]?.items ?? [])].sort(sort);
    const from = Date.parse(start);
    const fresh = items.filter((n) => Date.parse(q.updatedAt(n)) >= from && !seenAtStart.has(q.id(n)));
    if (fresh.length > 0) yield fresh;
    if (items.length < take) return;
    const last = items[items.length - 1] as N;
    const lastAt = q.updatedAt(last);
    const tie = items.filter((n) => Date.parse(q.updatedAt(n)) === Date.parse(lastAt));
    if (Date.parse(lastAt) === Date.parse(start)) {
      skip += items.length;
    } else {
      start = lastAt;
      skip = tie.length;
      seenAtStart = new Set();
    }
    for (const n of tie) seenAtStart.add(q.id(n));
  }
}

/**
 * A sorted stream over one Vendure list query: `list` pages it with `keysetPages`, `get` reads one record
 * by id, and the record's own `id` and `updatedAt` are its id and cursor time.
 */
export function keysetStream<E extends EntityName, N extends { id: string; updatedAt: string }>(
  entity: E,
  client: VendureClient,
  maxPage: number,
  query: ListQuery<N>,
  get: (id: string) => Promise<N | null>,
  toCanonical: (n: N) => CanonicalByEntity[E],
): Stream<E, N> {
  return {
    entity,
    sorted: true,
    list: (req) => keysetPages(client, query, req, maxPage),
    get,
    idOf: (n) => n.id,
    updatedAtOf: (n) => n.updatedAt,
    toCanonical,
  };
}
