/**
 * Incremental, cursor-paginated reads shared by the streams: `updated_at` window from the engine's cursor
 * to the signpost, `sortKey: UPDATED_AT`, pages sized to stay under Shopify's 1,000-point single-query cap.
 */
import type { z } from "zod";
import { compareCursors } from "../../../core/cursor.ts";
import type { ListRequest } from "../../../ports/connector.ts";
import type { ShopifyClient } from "../client.ts";
import { SINGLE_QUERY_MAX_COST } from "../cost.ts";

export function updatedWindow(req: ListRequest): string {
  const terms: string[] = [];
  if (req.since !== null) terms.push(`updated_at:>='${req.since.updatedAt}'`);
  terms.push(`updated_at:<='${req.signpost}'`);
  return terms.join(" AND ");
}

/** The largest page ≤ `wanted` whose requested cost fits the single-query cap (cost grows linearly). */
export function fitPage(client: ShopifyClient, query: string, wanted: number): number {
  const base = client.estimateCost(query, { first: 0 });
  const perNode = client.estimateCost(query, { first: 1 }) - base;
  if (perNode <= 0) return wanted;
  return Math.max(1, Math.min(wanted, 250, Math.floor((SINGLE_QUERY_MAX_COST - base) / perNode)));
}

/** The engine's own (updatedAt, id) order: instants, then GIDs by their numeric tail. */
export function byUpdatedThenId<T>(
  updatedAt: (x: T) => string,
  id: (x: T) => string,
): (a: T, b: T) => number {
  return (a, b) =>
    compareCursors({ updatedAt: updatedAt(a), id: id(a) }, { updatedAt: updatedAt(b), id: id(b) });
}

/**
 * Yields every page of a connection. Shopify orders ties on updated_at by numeric id server-side (an assumption:
 * not documented, and what the emulator does); each page is sorted again by (updatedAt, id) so the engine always sees ascending order
 * within a page, and its inclusive `>=` restart re-reads a tie group rather than skipping it.
 */
export async function* pages<N>(
  client: ShopifyClient,
  query: string,
  field: string,
  answer: z.ZodType<
    Record<string, { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: N[] }>
  >,
  req: ListRequest,
  sort: (a: N, b: N) => number,
): AsyncIterable<N[]> {
  const first = fitPage(client, query, req.pageSize);
  const search = updatedWindow(req);
  let after: string | null = null;
  for (;;) {
    const data: Record<string, { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: N[] }> =
      await client.request(query, { first, after, query: search }, answer, req.signal);
    const conn = data[field];
    if (conn === undefined) return;
    const nodes = [...conn.nodes].sort(sort);
    if (nodes.length > 0) yield nodes;
    if (!conn.pageInfo.hasNextPage || conn.pageInfo.endCursor === null) return;
    after = conn.pageInfo.endCursor;
  }
}
