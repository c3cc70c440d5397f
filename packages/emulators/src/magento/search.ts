/**
 * Magento's searchCriteria as the REST API reads it from the query string: filter groups ANDed, filters
 * inside a group ORed, sort orders applied in turn, `pageSize` and `currentPage` (1-based). A page past
 * the last one answers the last page again, as Magento's collections do (magento/magento2#25619): a client
 * that pages until it gets an empty page never stops, one that pages by total_count does.
 */
export interface Filter {
  field: string;
  value: string;
  conditionType: string;
}

export interface SearchCriteria {
  filterGroups: Filter[][];
  sortOrders: { field: string; direction: "ASC" | "DESC" }[];
  pageSize: number | null;
  currentPage: number;
}

export class SearchError extends Error {}

export function parseSearchCriteria(query: URLSearchParams): SearchCriteria {
  const groups = new Map<number, Map<number, Partial<Filter>>>();
  const sorts = new Map<number, { field?: string; direction?: string }>();
  let pageSize: number | null = null;
  let currentPage = 1;
  for (const [name, value] of query) {
    let m =
      /^searchCriteria\[filterGroups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|conditionType)\]$/.exec(
        name,
      );
    if (m) {
      const g = groups.get(Number(m[1])) ?? new Map<number, Partial<Filter>>();
      groups.set(Number(m[1]), g);
      const f = g.get(Number(m[2])) ?? {};
      g.set(Number(m[2]), f);
      f[m[3] as keyof Filter] = value;
      continue;
    }
    m = /^searchCriteria\[sortOrders\]\[(\d+)\]\[(field|direction)\]$/.exec(name);
    if (m) {
      const s = sorts.get(Number(m[1])) ?? {};
      sorts.set(Number(m[1]), s);
      s[m[2] as "field" | "direction"] = value;
      continue;
    }
    if (name === "searchCriteria[pageSize]") pageSize = Number(value);
    if (name === "searchCriteria[currentPage]") currentPage = Math.max(1, Number(value));
  }
  const filterGroups = [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, g]) =>
      [...g.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, f]) => {
          if (!f.field) throw new SearchError('"field" is required in a searchCriteria filter');
          return { field: f.field, value: f.value ?? "", conditionType: f.conditionType ?? "eq" };
        }),
    );
  const sortOrders = [...sorts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, s]) => {
      if (!s.field) throw new SearchError('"field" is required in a searchCriteria sort order');
      const direction = (s.direction ?? "ASC").toUpperCase();
      if (direction !== "ASC" && direction !== "DESC")
        throw new SearchError(`sort direction must be ASC or DESC, got ${JSON.stringify(s.direction)}`);
      return { field: s.field, direction: direction as "ASC" | "DESC" };
    });
  return { filterGroups, sortOrders, pageSize, currentPage };
}

const compare = (a: unknown, b: unknown): number => {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number" || typeof b === "number") {
    const [x, y] = [Number(a), Number(b)];
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  const [x, y] = [String(a ?? ""), String(b ?? "")];
  return x < y ? -1 : x > y ? 1 : 0;
};

function matches(value: unknown, f: Filter): boolean {
  switch (f.conditionType) {
    case "eq":
      return compare(value, f.value) === 0;
    case "neq":
      return compare(value, f.value) !== 0;
    case "gt":
      return compare(value, f.value) > 0;
    case "gteq":
    case "from":
      return compare(value, f.value) >= 0;
    case "lt":
      return compare(value, f.value) < 0;
    case "lteq":
    case "to":
      return compare(value, f.value) <= 0;
    case "in":
      return f.value.split(",").some((v) => compare(value, v.trim()) === 0);
    case "nin":
      return !f.value.split(",").some((v) => compare(value, v.trim()) === 0);
    case "like": {
      const re = new RegExp(`^${f.value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("%", ".*")}$`, "i");
      return re.test(String(value ?? ""));
    }
    case "null":
      return value === null || value === undefined;
    case "notnull":
      return value !== null && value !== undefined;
    default:
      throw new SearchError(`unknown condition type ${JSON.stringify(f.conditionType)}`);
  }
}

/** Filters, sorts and pages records; `field` reads a field by the name a filter or sort gives. */
export function search<T>(
  records: readonly T[],
  sc: SearchCriteria,
  field: (record: T, name: string) => unknown,
): { items: T[]; total: number } {
  const kept = records.filter((r) =>
    sc.filterGroups.every((g) => g.some((f) => matches(field(r, f.field), f))),
  );
  const sorted = [...kept].sort((a, b) => {
    for (const s of sc.sortOrders) {
      const d = compare(field(a, s.field), field(b, s.field));
      if (d !== 0) return s.direction === "ASC" ? d : -d;
    }
    return 0;
  });
  if (sc.pageSize === null || sc.pageSize <= 0) return { items: sorted, total: sorted.length };
  const lastPage = Math.max(1, Math.ceil(sorted.length / sc.pageSize));
  const page = Math.min(sc.currentPage, lastPage);
  return { items: sorted.slice((page - 1) * sc.pageSize, page * sc.pageSize), total: sorted.length };
}

/** The search_criteria object Magento echoes in a search answer. */
export function echo(sc: SearchCriteria): Record<string, unknown> {
  return {
    filter_groups: sc.filterGroups.map((g) => ({
      filters: g.map((f) => ({ field: f.field, value: f.value, condition_type: f.conditionType })),
    })),
    ...(sc.sortOrders.length > 0
      ? { sort_orders: sc.sortOrders.map((s) => ({ field: s.field, direction: s.direction })) }
      : {}),
    ...(sc.pageSize !== null ? { page_size: sc.pageSize } : {}),
    current_page: sc.currentPage,
  };
}
