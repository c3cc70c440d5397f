/** Processed marks in the `sync_marks` table (see src/ports/marks.ts). */
import type { Kysely } from "kysely";
import type { MarkStore } from "../../ports/marks.ts";
import type { Database } from "../schema.ts";

export class SqlMarks implements MarkStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  /** A named mark (reconciliation window end, a schedule's last fire); null when never set. */
  async getMark(name: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom("sync_marks")
      .select("mark")
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.mark ?? null;
  }

  async setMark(name: string, mark: string): Promise<void> {
    const at = this.#now().toISOString();
    await this.#db
      .insertInto("sync_marks")
      .values({ name, mark, updated_at: at })
      .onConflict((oc) => oc.column("name").doUpdateSet({ mark, updated_at: at }))
      .execute();
  }
}
