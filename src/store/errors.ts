/** A database error, re-thrown with the operation and table it happened in. */
export class StoreError extends Error {
  override readonly name = "StoreError";
  /** e.g. "commitPage: upsert links". */
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`store ${operation} failed: ${reason}`, { cause });
    this.operation = operation;
  }
}

/** Runs `work`, naming `operation` in any error it throws (an inner StoreError keeps its own name). */
export async function named<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(operation, err);
  }
}
