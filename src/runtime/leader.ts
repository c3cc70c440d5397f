/**
 * One leader among processes, by a PostgreSQL session advisory lock: `passerelle run --role scheduler`
 * (and `all`) fires cron ticks only while it holds the lock, so of two schedulers one fires and the other
 * waits as a standby. The lock belongs to the holder's connection: when its process dies or loses the
 * connection (a restart), PostgreSQL releases it at once and the standby, which asks every `pollMs`, takes
 * over. A leader whose connection drops steps down (onLost) before asking again.
 */
import type pg from "pg";

export interface LeaderOptions {
  connectionString: string;
  /** The lock's name; hashed by PostgreSQL into the 64-bit key (hashtextextended). */
  name: string;
  pollMs?: number;
  onLeader(): void | Promise<void>;
  onLost(reason: string): void;
  logger?: { warn(obj: object, msg: string): void };
}

export class Leader {
  readonly #o: LeaderOptions;
  #client: pg.Client | null = null;
  #stopped = false;
  #leading = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: LeaderOptions) {
    this.#o = opts;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#stopped = false;
    void this.#try();
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    // Loaded here: a command on a SQLite store (which has no leader election) never loads the driver.
    const { default: pg } = await import("pg");
    const client = new pg.Client({
      connectionString: this.#o.connectionString,
      application_name: "passerelle-scheduler",
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    client.on("error", (err) => this.#drop(client, err.message));
    client.on("end", () => this.#drop(client, "connection ended"));
    await client.connect();
    this.#client = client;
    return client;
  }

  #drop(client: pg.Client, reason: string): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => undefined);
    if (this.#leading) {
      this.#leading = false;
      this.#o.onLost(reason);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#try();
    }, this.#o.pollMs ?? 1_000);
  }

  async #try(): Promise<void> {
    if (this.#stopped || this.#leading) return;
    try {
      const client = await this.#connect();
      const { rows } = await client.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok",
        [this.#o.name],
      );
      if (rows[0]?.ok && !this.#stopped) {
        this.#leading = true;
        await this.#o.onLeader();
        return;
      }
    } catch (err) {
      this.#o.logger?.warn(
        { lock: this.#o.name, err: err instanceof Error ? err.message : String(err) },
        "cannot ask for the scheduler lock; asking again",
      );
    }
    this.#schedule();
  }

  /** Steps down (the lock goes with the connection) and stops asking. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#leading = false;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }
}
