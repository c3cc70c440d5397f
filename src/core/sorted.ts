/** Ascending lists of numeric ids: binary search. */

/** The first position in an ascending id list whose id is ≥ `id` (the list's length if none is). */
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

/** Whether an ascending id list holds `id`. */
export function includesSorted(list: readonly number[], id: number): boolean {
  return list[idBound(list, id)] === id;
}
