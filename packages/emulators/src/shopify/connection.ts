/**
 * Relay connections over an in-memory list: keyset pagination on (sort value, numeric id) with opaque
 * base64 cursors, so a page boundary stays correct when records are inserted or updated between pages.
 */
import { GraphQLError } from "graphql";

export const MAX_PAGE_SIZE = 250;

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
}

type Key = [string | number, number];

function numericId(gid: string): number {
  return Number(gid.slice(gid.lastIndexOf("/") + 1));
}

function cmp(a: Key, b: Key): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] - b[1];
}

function encode(k: Key): string {
  return Buffer.from(JSON.stringify({ last_id: k[1], last_value: k[0] })).toString("base64");
}

function decode(cursor: string, arg: string): Key {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, "base64").toString("utf8"));
    if (typeof v === "object" && v !== null && "last_id" in v && "last_value" in v) {
      const { last_id, last_value } = v;
      if (typeof last_id === "number" && (typeof last_value === "string" || typeof last_value === "number"))
        return [last_value, last_id];
    }
  } catch {
    // falls through to the error below
  }
  throw new GraphQLError(`Invalid cursor for current pagination sort (${arg}).`, {
    extensions: { code: "BAD_REQUEST" },
  });
}

export function checkPageArgs(args: PageArgs): number {
  const size = args.first ?? args.last;
  if (size === null || size === undefined) {
    throw new GraphQLError("you must provide one of first or last", { extensions: { code: "BAD_REQUEST" } });
  }
  // UNVERIFIED wording; the 250 ceiling itself is Shopify's documented maximum page size.
  if (size > MAX_PAGE_SIZE || size < 0) {
    throw new GraphQLError(`The requested page size ${size} must be between 0 and ${MAX_PAGE_SIZE}.`, {
      extensions: { code: "BAD_REQUEST" },
    });
  }
  return size;
}

/** Builds a connection object; `sortValue` orders the items (ties by numeric id, as Shopify does). */
export function connection<T extends { id: string }, V>(
  items: Iterable<T>,
  args: PageArgs,
  view: (item: T) => V,
  sortValue: (item: T) => string | number = (item) => numericId(item.id),
): Record<string, unknown> {
  const size = checkPageArgs(args);
  const keyed = [...items].map((item) => ({ item, key: [sortValue(item), numericId(item.id)] as Key }));
  keyed.sort((a, b) => cmp(a.key, b.key));
  if (args.reverse === true) keyed.reverse();
  const dir = args.reverse === true ? -1 : 1;
  let list = keyed;
  if (args.after) {
    const after = decode(args.after, "after");
    list = list.filter((x) => dir * cmp(x.key, after) > 0);
  }
  if (args.before) {
    const before = decode(args.before, "before");
    list = list.filter((x) => dir * cmp(x.key, before) < 0);
  }
  const fromEnd = args.first === null || args.first === undefined;
  const page = fromEnd ? list.slice(Math.max(0, list.length - size)) : list.slice(0, size);
  const more = list.length > page.length;
  const edges = page.map((x) => ({ cursor: encode(x.key), node: view(x.item) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: fromEnd ? false : more,
      hasPreviousPage: fromEnd ? more : Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

/** Plain lists in the schema (e.g. `fulfillments(first:)`) honour `first` without cursors. */
export function firstOf<T>(items: readonly T[], first: number | null | undefined): T[] {
  return first === null || first === undefined ? [...items] : items.slice(0, first);
}
