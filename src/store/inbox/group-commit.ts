/**
 * Group commit with one commit in flight, for the webhook inbox: a durable commit costs an fsync (0.3 ms on
 * an idle disk, 5–10 ms when it is busy), which would cap ingest if each delivery took its own. One
 * transaction is in flight at a time; deliveries arriving while it commits form the next group, which is
 * sent the moment it finishes (before the finished group's requests are answered), so the group size
 * follows the fsync time with no timer on top.
 */
export interface GroupCommitOptions<T> {
  /** See InboxOptions.windowMs (default 0: the end of the current event-loop turn). */
  windowMs?: number;
  /** Most weight (events) in one group; a group this heavy is sent without waiting for the window. */
  maxBatch?: number;
  /** The weight of one item (default 1). */
  weight?: (item: T) => number;
}

/**
 * Group commit with one commit in flight. Items added while a commit runs queue up and form the next group,
 * which is committed as soon as the running commit settles (at most `maxBatch` weight per group); an item
 * reaching an idle committer waits `windowMs` (0: the rest of this event-loop turn) for company. An item's
 * promise settles only with the commit that held it: resolved with its result, or rejected with the
 * commit's error.
 */
export class GroupCommit<T, R> {
  readonly #commit: (items: T[]) => Promise<R[]>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #weight: (item: T) => number;
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #queued = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  #inFlight: Promise<void> | null = null;
  /** Commits started so far, and the items they held. */
  readonly stats = { commits: 0, items: 0 };

  constructor(commit: (items: T[]) => Promise<R[]>, opts: GroupCommitOptions<T> = {}) {
    this.#commit = commit;
    this.#windowMs = opts.windowMs ?? 0;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.#weight = opts.weight ?? (() => 1);
  }

  /** Items waiting for a commit. */
  get queued(): number {
    return this.#queue.length;
  }

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#queued += this.#weight(item);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#inFlight) return; // the running commit sends the next group when it settles
    if (this.#queued >= this.#maxBatch) {
      this.#cancelTimer();
      this.#flush();
      return;
    }
    if (this.#timer) return;
    const fire = () => {
      this.#timer = null;
      this.#flush();
    };
    this.#timer = this.#windowMs > 0 ? setTimeout(fire, this.#windowMs) : setImmediate(fire);
  }

  #cancelTimer(): void {
    if (this.#timer === null) return;
    if (this.#windowMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
    else clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = null;
  }

  /** Sends the next group (at most maxBatch weight, at least one item) when no commit is in flight. */
  #flush(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    this.#cancelTimer();
    let weight = 0;
    let n = 0;
    while (n < this.#queue.length) {
      const w = this.#weight((this.#queue[n] as { item: T }).item);
      if (n > 0 && weight + w > this.#maxBatch) break;
      weight += w;
      n += 1;
    }
    const group = this.#queue.splice(0, n);
    this.#queued -= weight;
    this.stats.commits += 1;
    this.stats.items += group.length;
    let committed: Promise<R[]>;
    try {
      committed = this.#commit(group.map((g) => g.item));
    } catch (e) {
      committed = Promise.reject(e);
    }
    this.#inFlight = committed.then(
      (results) => {
        // The next group goes to the disk first; the finished one's answers are written meanwhile.
        this.#inFlight = null;
        this.#flush();
        for (const [i, g] of group.entries()) g.resolve(results[i] as R);
      },
      (err: unknown) => {
        this.#inFlight = null;
        this.#flush();
        for (const g of group) g.reject(err);
      },
    );
  }

  /** Waits until every item added so far has been committed (or its commit failed). */
  async drain(): Promise<void> {
    while (this.#inFlight || this.#queue.length > 0) {
      if (!this.#inFlight) this.#flush();
      await this.#inFlight;
    }
  }
}
