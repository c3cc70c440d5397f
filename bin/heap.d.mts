// Types of bin/heap.mjs, for the TypeScript that imports it (tests).
export declare const OLD_SPACE_MB: number;
export declare const SEMI_SPACE_MB: number;
export declare function heapFlags(
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] | null;
