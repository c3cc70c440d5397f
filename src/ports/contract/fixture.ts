/**
 * What a connector's contract test gives the suite: connection settings for the system under test (the
 * suite creates its connections from the definition, so what it exercises is what the definition builds),
 * sample records, hooks into the system (insert, touch, read back, fault injection, a write counter) and,
 * for everything it cannot exercise, a reason. Nothing is skipped without one.
 */
import type { CanonicalByEntity, EntityName } from "../../core/model.ts";
import type { Connector, WriteContext } from "../connector.ts";

/** Steps of the suite a fixture may skip, per entity. */
export const READ_STEPS = ["pagination", "order", "resume", "inserts", "canonical", "get", "touch"] as const;
export const WRITE_STEPS = ["create", "readback", "update", "reapply", "lookup", "reject"] as const;
export type ReadStep = (typeof READ_STEPS)[number];
export type WriteStep = (typeof WRITE_STEPS)[number];
export type Step = ReadStep | WriteStep | "faults";

/**
 * `product` skips every check of that entity, `product.read` / `product.write` one direction,
 * `product.update` one step, `*.update` that step for every entity; `faults` skips the rate-limit and 5xx checks of every entity.
 */
export type SkipKey = EntityName | `${EntityName | "*"}.${"read" | "write" | Step}` | "faults";

type PerEntity<F extends (...args: never[]) => unknown> = { [E in EntityName]?: F };

export interface ContractFixture<C = unknown> {
  /** Settings of a connection to the system under test. */
  config: C;
  /** The same system with a wrong password or token. */
  badCredentials: C;
  /** A connection aimed at a port where nothing listens. */
  unreachable: C;
  /** Records each read entity must hold (default 5). */
  minRecords?: number;
  /** What the fixture cannot exercise, each with its reason; the suite prints them. */
  skip?: Partial<Record<SkipKey, string>>;
  /** Per written entity: fresh canonical records (keys never written before), at least 3, new on each call. */
  samples?: { [E in EntityName]?: () => CanonicalByEntity[E][] };
  /** Per written entity: the record changed in a way its writer writes (for the update step). */
  change?: { [E in EntityName]?: (record: CanonicalByEntity[E]) => CanonicalByEntity[E] };
  /** Per written entity: a record the system refuses (e.g. an unknown SKU). */
  rejects?: { [E in EntityName]?: () => CanonicalByEntity[E] };
  /**
   * The documented normalisation per written entity: what of a record survives a round trip through the
   * system. Applied to the record written and to what is read back; the two must be deep-equal.
   */
  normalise?: PerEntity<(record: unknown) => unknown>;
  /**
   * Reads a written record back for entities the connector cannot read (from the system's own API or the
   * emulator's data), in a shape `normalise` accepts; null when it is not there.
   */
  readBack?: (entity: EntityName, targetId: string) => Promise<unknown>;
  /** Adds one new record of the entity to the system, as its users would; returns its id in the system. */
  insert?: (entity: EntityName) => Promise<string>;
  /** Changes one record through the system's own write path, so its updatedAt moves. */
  touch?: (entity: EntityName, id: string) => Promise<void>;
  /** An id the system does not hold, shaped like `knownId` (default: its last number replaced). */
  unknownId?: (entity: EntityName, knownId: string) => string;
  /** The WriteContext the writers get (links other records already have in this system). */
  writeContext?: WriteContext;
  /**
   * Writes the system has performed so far: the emulator's counter, or on a real system what the suite's
   * connection (passed in) has sent that changes data.
   */
  writes(connector: Connector): number;
  /**
   * Makes every request fail with a 429 carrying `Retry-After: retryAfterS`, or a 5xx, until called with
   * null.
   */
  faults?: { inject(kind: "429" | "5xx" | null): void; retryAfterS: number };
  teardown(): Promise<void>;
}

/** What the checks share: the fixture, the connection built from the definition, what earlier steps wrote. */
export interface Harness {
  fx: ContractFixture;
  connector: Connector;
  /** Per entity: the records the create step wrote and their target ids, for the later write steps. */
  written: Map<EntityName, { records: CanonicalByEntity[EntityName][]; ids: Map<string, string> }>;
}

export class SkipCheck extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}
