/**
 * The contract as a list of checks derived from a definition: the connection's checks, "the fixture and
 * the definition agree on what it reads and writes", then per entity it declares the read steps, the write
 * steps and the rate-limit and 5xx handling. `runChecks` runs them without node:test (the mutation tests in
 * test/contract/ use it); `runContractSuite` runs each as a test.
 */
import assert from "node:assert/strict";
import { SyncError } from "../../core/errors.ts";
import type { CanonicalByEntity, EntityName } from "../../core/model.ts";
import type { ConnectorDefinition } from "../connector.ts";
import {
  type ContractFixture,
  type Harness,
  READ_STEPS,
  SkipCheck,
  type SkipKey,
  type Step,
  WRITE_STEPS,
} from "./fixture.ts";
import { readAll, readChecks, streamFor } from "./read-checks.ts";
import { writeChecks, writerFor } from "./write-checks.ts";

export interface ContractCheck {
  /** `connection.check`, `declared`, `<entity>.<step>` (e.g. `inventory.reapply`). */
  id: string;
  title: string;
  /** Fixture skip keys that cover it, most specific first. */
  skipKeys: SkipKey[];
  run(h: Harness): Promise<void>;
}

export interface CheckResult {
  id: string;
  title: string;
  outcome: "pass" | "fail" | "skip";
  /** The failure's message, or the skip's reason. */
  message?: string;
}

async function rejection(p: Promise<unknown>, what: string): Promise<unknown> {
  return p.then(
    () => assert.fail(`${what} succeeded`),
    (e: unknown) => e,
  );
}

function connectionChecks(def: ConnectorDefinition): ContractCheck[] {
  return [
    {
      id: "connection.check",
      title: "check() accepts good credentials",
      skipKeys: [],
      run: (h) => h.connector.check(),
    },
    {
      id: "connection.credentials",
      title: "wrong credentials are a config error naming the system",
      skipKeys: [],
      async run(h) {
        const bad = def.create(`${def.id}-bad`, h.fx.badCredentials);
        const err = await rejection(bad.check(), "check() with wrong credentials");
        assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
        assert.equal(err.kind, "config");
        assert.equal(err.details.system, bad.name);
      },
    },
    {
      id: "connection.unreachable",
      title: "an unreachable host is a retryable error",
      skipKeys: [],
      async run(h) {
        const err = await rejection(
          def.create(`${def.id}-down`, h.fx.unreachable).check(),
          "check() against a closed port",
        );
        assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
        assert.equal(err.kind, "retryable");
      },
    },
    {
      id: "declared",
      title: "the connection, the capabilities and the fixture agree with the definition's entities",
      skipKeys: [],
      async run(h) {
        const c = h.connector;
        assert.deepEqual(
          Object.keys(c.streams).sort(),
          [...def.reads].sort(),
          "streams built ≠ entities declared read",
        );
        assert.deepEqual(
          Object.keys(c.writers).sort(),
          [...def.writes].sort(),
          "writers built ≠ entities declared written",
        );
        assert.equal(
          typeof c.document === "function",
          def.capabilities.documents,
          "documents capability ≠ connection",
        );
        const fx = h.fx;
        const written = (key: string) => def.writes.includes(key as EntityName);
        for (const [hook, keys] of [
          ["samples", Object.keys(fx.samples ?? {})],
          ["change", Object.keys(fx.change ?? {})],
          ["rejects", Object.keys(fx.rejects ?? {})],
          ["normalise", Object.keys(fx.normalise ?? {})],
        ] as const) {
          for (const k of keys)
            assert.ok(written(k), `the fixture has ${hook} for ${k}, which ${def.id} does not write`);
        }
        for (const key of Object.keys(fx.skip ?? {})) {
          const [entity, step] = key.split(".") as [string, string | undefined];
          if (entity === "faults" || entity === "*") continue;
          const declared =
            step === "read" || READ_STEPS.includes(step as never)
              ? def.reads
              : step === undefined || step === "faults"
                ? [...def.reads, ...def.writes]
                : def.writes;
          assert.ok(
            declared.includes(entity as EntityName),
            `the fixture skips ${key}, which ${def.id} does not declare`,
          );
        }
      },
    },
  ];
}

function faultChecks(entity: EntityName, reads: boolean, writes: boolean): ContractCheck {
  return {
    id: `${entity}.faults`,
    title: `${entity}: a 429 is rate_limited with its Retry-After, a 5xx is retryable, neither reads as empty nor written`,
    // Skipping an entity skips its faults too: they are exercised through its reads and writes.
    skipKeys: [`${entity}.faults`, "faults", entity],
    async run(h) {
      const faults = h.fx.faults;
      if (!faults) throw new Error("the fixture cannot inject faults; give fixture.faults or skip faults");
      try {
        if (reads) {
          const stream = streamFor(h, entity);
          const [first] = (await readAll(stream, 5))[0] ?? [];
          assert.ok(first, `${entity}: empty stream`);
          const id = stream.idOf(first);
          faults.inject("429");
          const started = Date.now();
          const limited = await rejection(stream.get(id), `${entity}: get(${id}) under 429`);
          const waited = Date.now() - started;
          assert.ok(
            limited instanceof SyncError && limited.kind === "rate_limited",
            `${entity}: a 429 read as ${String(limited)}`,
          );
          const told = limited.details.retryAfterMs ?? 0;
          assert.ok(
            told >= faults.retryAfterS * 900 || waited >= faults.retryAfterS * 900,
            `${entity}: a 429 with Retry-After ${faults.retryAfterS} s neither waited (${waited} ms) nor said so (retryAfterMs ${told})`,
          );
          faults.inject("5xx");
          const down = await rejection(stream.get(id), `${entity}: get(${id}) under 5xx`);
          assert.ok(
            down instanceof SyncError && down.kind === "retryable",
            `${entity}: a 5xx read as ${String(down)}`,
          );
          faults.inject(null);
          assert.ok(await stream.get(id), `${entity}: get(${id}) fails once the faults stop`);
        }
        if (writes) {
          const make = h.fx.samples?.[entity] as (() => CanonicalByEntity[EntityName][]) | undefined;
          if (!make) throw new SkipCheck(`${entity}: no samples to write (see the write checks' skip)`);
          const records = make();
          const before = h.fx.writes(h.connector);
          faults.inject("5xx");
          const outcome = await writerFor(h, entity)
            .upsert(
              records.map((r) => ({ key: r.key, record: r, targetId: null, externalRef: r.key })),
              h.fx.writeContext ?? { resolve: async () => null },
            )
            .catch((e: unknown) => e);
          faults.inject(null);
          if (Array.isArray(outcome)) {
            for (const r of outcome) {
              assert.ok(!r.ok, `${entity} ${r.key}: reported written while the system answered 5xx`);
              assert.ok(
                ["retryable", "rate_limited"].includes(r.error.kind),
                `${entity} ${r.key}: a 5xx is ${r.error.kind}`,
              );
            }
          } else {
            assert.ok(
              outcome instanceof SyncError && outcome.kind === "retryable",
              `${entity}: a 5xx write threw ${String(outcome)}`,
            );
          }
          assert.equal(
            h.fx.writes(h.connector) - before,
            0,
            `${entity}: the system recorded writes while answering 5xx`,
          );
        }
      } finally {
        faults.inject(null);
      }
    },
  };
}

/** Every check the definition calls for, in the order they run. */
export function contractChecks(def: ConnectorDefinition): ContractCheck[] {
  const checks = connectionChecks(def);
  for (const entity of def.reads) {
    for (const step of READ_STEPS) {
      checks.push({
        id: `${entity}.${step}`,
        title: `read ${entity}: ${step}`,
        skipKeys: [`${entity}.${step}`, `*.${step}`, `${entity}.read`, `*.read`, entity],
        run: (h) => readChecks[step](h, entity),
      });
    }
  }
  for (const entity of def.writes) {
    for (const step of WRITE_STEPS) {
      checks.push({
        id: `${entity}.${step}`,
        title: `write ${entity}: ${step}`,
        skipKeys: [`${entity}.${step}`, `*.${step}`, `${entity}.write`, `*.write`, entity],
        run: (h) => writeChecks[step](h, entity),
      });
    }
  }
  for (const entity of [...new Set([...def.reads, ...def.writes])]) {
    checks.push(faultChecks(entity, def.reads.includes(entity), def.writes.includes(entity)));
  }
  return checks;
}

/** The reason the fixture gives for skipping a check, if it does. */
export function skipReason(check: ContractCheck, fx: ContractFixture): string | undefined {
  for (const key of check.skipKeys) {
    const reason = fx.skip?.[key];
    if (reason) return `${key}: ${reason}`;
  }
  return undefined;
}

export function harness(def: ConnectorDefinition, fx: ContractFixture): Harness {
  return { fx, connector: def.create(def.id, fx.config), written: new Map() };
}

/** Runs the checks in order (those `only` selects), each to its verdict, never stopping at a failure. */
export async function runChecks(
  def: ConnectorDefinition,
  fx: ContractFixture,
  only: (check: ContractCheck) => boolean = () => true,
): Promise<CheckResult[]> {
  const h = harness(def, fx);
  const results: CheckResult[] = [];
  try {
    for (const check of contractChecks(def).filter(only)) {
      const reason = skipReason(check, fx);
      if (reason) {
        results.push({ id: check.id, title: check.title, outcome: "skip", message: reason });
        continue;
      }
      try {
        await check.run(h);
        results.push({ id: check.id, title: check.title, outcome: "pass" });
      } catch (err) {
        const outcome = err instanceof SkipCheck ? "skip" : "fail";
        results.push({
          id: check.id,
          title: check.title,
          outcome,
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
  } finally {
    await h.connector.close();
  }
  return results;
}

export type { Step };
