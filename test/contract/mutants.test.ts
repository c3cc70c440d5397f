/**
 * The contract suite can fail: each mutant below breaks one thing in the Odoo or Shopify definition (a
 * writer removed, a writer that writes on re-apply, a reader that drops its last page or repeats a record,
 * a lookup that never or always finds, a get that hides a 5xx as "not found", a writer that fails every
 * record when one is bad), the suite's checks run against it, and the test asserts the check meant to
 * catch it failed — and that the same checks pass on the unbroken definition, so the failure is the
 * mutant's. The table of mutant → caught by is printed at the end.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { odoo } from "../../src/connectors/odoo/index.ts";
import { shopify } from "../../src/connectors/shopify/index.ts";
import type { EntityName } from "../../src/core/model.ts";
import {
  type ConnectorDefinition,
  defineConnector,
  type Stream,
  type WriteResult,
  type Writer,
} from "../../src/ports/connector.ts";
import { type ContractCheck, type ContractFixture, runChecks } from "../../src/ports/contract-suite.ts";
import { odooContractFixture } from "../fixtures/odoo-contract.ts";
import { shopifyContractFixture } from "../fixtures/shopify-contract.ts";

// ---- mutations of one stream or writer -------------------------------------------------------------------
function dropLastPage<S extends Stream>(s: S): S {
  return {
    ...s,
    async *list(req) {
      let held: unknown[] | null = null;
      for await (const page of s.list(req)) {
        if (held) yield held;
        held = page;
      }
      // the last page is never yielded
    },
  };
}

function repeatRecord<S extends Stream>(s: S): S {
  return {
    ...s,
    async *list(req) {
      let first: unknown;
      let n = 0;
      for await (const page of s.list(req)) {
        first ??= page[0];
        yield n++ === 1 && first !== undefined ? [first, ...page.slice(1)] : page;
      }
    },
  };
}

function hideFailures<S extends Stream>(s: S): S {
  return { ...s, get: async (id) => s.get(id).catch(() => null) };
}

function neverFinds<W extends Writer>(w: W): W {
  return { ...w, findByExternalRef: async () => null };
}

function alwaysFinds<W extends Writer>(w: W): W {
  return {
    ...w,
    findByExternalRef: async (ref, record) => (await w.findByExternalRef(ref, record)) ?? "1",
  };
}

/** On re-apply, writes a different version first and then the record: the end state is right, two writes. */
function writesOnReapply<W extends Writer<"customer">>(w: W): W {
  return {
    ...w,
    async upsert(items, ctx) {
      const linked = items.filter((i) => i.targetId !== null);
      if (linked.length > 0) {
        const other = linked.map((i) => ({
          ...i,
          record: { ...i.record, lastName: `${i.record.lastName} (x)` },
        }));
        await w.upsert(other, ctx);
      }
      return w.upsert(items, ctx);
    },
  };
}

function failsAllForOne<W extends Writer>(w: W): W {
  return {
    ...w,
    async upsert(items, ctx) {
      const results = await w.upsert(items, ctx);
      const bad = results.find((r) => !r.ok);
      if (!bad || bad.ok) return results;
      return results.map((r): WriteResult => ({ key: r.key, ok: false, error: bad.error }));
    },
  };
}

// ---- mutants -----------------------------------------------------------------------------------------------
type AnyDefinition = typeof odoo | typeof shopify;
interface Mutant {
  name: string;
  of: "odoo" | "shopify";
  definition: ConnectorDefinition;
  /** The check that must report it. */
  caughtBy: string;
  /** The checks run (those of the entity it breaks). */
  entity: EntityName;
}

function mutate<D extends AnyDefinition>(
  def: D,
  entity: EntityName,
  change: (e: NonNullable<D["spec"]["entities"][EntityName]>) => object,
): ConnectorDefinition {
  const entities = { ...def.spec.entities } as Record<string, unknown>;
  const next = change(entities[entity] as never);
  if (Object.keys(next).length === 0) delete entities[entity];
  else entities[entity] = next;
  return defineConnector({ ...def.spec, entities } as never);
}

const od = odoo.spec.entities;
const sh = shopify.spec.entities;

const MUTANTS: Mutant[] = [
  {
    name: "shopify without its inventory writer",
    of: "shopify",
    entity: "inventory",
    caughtBy: "declared",
    definition: mutate(shopify, "inventory", () => ({})),
  },
  {
    name: "shopify inventory writer that fails every record when one is bad",
    of: "shopify",
    entity: "inventory",
    caughtBy: "inventory.reject",
    definition: mutate(shopify, "inventory", () => ({
      write: (x: never) => failsAllForOne(sh.inventory!.write!(x)),
    })),
  },
  {
    name: "shopify product reader that drops the last page",
    of: "shopify",
    entity: "product",
    caughtBy: "product.pagination",
    definition: mutate(shopify, "product", (e) => ({
      ...e,
      read: (x: never) => dropLastPage(sh.product!.read!(x)),
    })),
  },
  {
    name: "shopify order reader that repeats a record",
    of: "shopify",
    entity: "order",
    caughtBy: "order.pagination",
    definition: mutate(shopify, "order", () => ({ read: (x: never) => repeatRecord(sh.order!.read!(x)) })),
  },
  {
    name: "shopify product lookup that never finds",
    of: "shopify",
    entity: "product",
    caughtBy: "product.create",
    definition: mutate(shopify, "product", (e) => ({
      ...e,
      write: (x: never) => neverFinds(sh.product!.write!(x)),
    })),
  },
  {
    name: "odoo customer writer that writes again on re-apply",
    of: "odoo",
    entity: "customer",
    caughtBy: "customer.reapply",
    definition: mutate(odoo, "customer", (e) => ({
      ...e,
      write: (x: never) => writesOnReapply(od.customer!.write!(x)),
    })),
  },
  {
    name: "odoo order lookup that finds an unknown reference",
    of: "odoo",
    entity: "order",
    caughtBy: "order.lookup",
    definition: mutate(odoo, "order", (e) => ({
      ...e,
      write: (x: never) => alwaysFinds(od.order!.write!(x)),
    })),
  },
  {
    name: "odoo order writer that fails every record when one is bad",
    of: "odoo",
    entity: "order",
    caughtBy: "order.reject",
    definition: mutate(odoo, "order", (e) => ({
      ...e,
      write: (x: never) => failsAllForOne(od.order!.write!(x)),
    })),
  },
  {
    name: "odoo product reader that drops the last page",
    of: "odoo",
    entity: "product",
    caughtBy: "product.pagination",
    definition: mutate(odoo, "product", () => ({ read: (x: never) => dropLastPage(od.product!.read!(x)) })),
  },
  {
    name: "odoo customer get that reads a 5xx as not found",
    of: "odoo",
    entity: "customer",
    caughtBy: "customer.faults",
    definition: mutate(odoo, "customer", (e) => ({
      ...e,
      read: (x: never) => hideFailures(od.customer!.read!(x)),
    })),
  },
];

const FIXTURES: Record<Mutant["of"], () => Promise<ContractFixture<never>>> = {
  odoo: odooContractFixture as () => Promise<ContractFixture<never>>,
  shopify: shopifyContractFixture as () => Promise<ContractFixture<never>>,
};
const ORIGINALS: Record<Mutant["of"], ConnectorDefinition> = {
  odoo: odoo as unknown as ConnectorDefinition,
  shopify: shopify as unknown as ConnectorDefinition,
};

/** The declared check and the checks of the broken entity; `touch` waits out one-second timestamps, not needed. */
const selection = (entity: EntityName) => (c: ContractCheck) =>
  c.id === "declared" || (c.id.startsWith(`${entity}.`) && c.id !== `${entity}.touch`);

async function failures(definition: ConnectorDefinition, of: Mutant["of"], entity: EntityName) {
  const fx = await FIXTURES[of]();
  try {
    const results = await runChecks(definition, fx, selection(entity));
    return results.filter((r) => r.outcome === "fail");
  } finally {
    await fx.teardown();
  }
}

describe("the contract suite catches broken connectors", () => {
  const table: string[][] = [];
  after(() => {
    const rows = [["mutant", "expected", "caught by"], ...table];
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    console.log(
      [line(rows[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...table.map(line)].join("\n"),
    );
  });

  for (const entity of [...new Set(MUTANTS.map((m) => `${m.of}:${m.entity}`))]) {
    const [of, e] = entity.split(":") as [Mutant["of"], EntityName];
    test(`control: ${of} as defined passes the ${e} checks`, async () => {
      const failed = await failures(ORIGINALS[of], of, e);
      assert.deepEqual(
        failed.map((f) => `${f.id}: ${f.message}`),
        [],
      );
    });
  }

  for (const m of MUTANTS) {
    test(`mutant: ${m.name} → ${m.caughtBy}`, async () => {
      const failed = await failures(m.definition, m.of, m.entity);
      table.push([m.name, m.caughtBy, failed.map((f) => f.id).join(", ") || "NOT CAUGHT"]);
      assert.ok(
        failed.some((f) => f.id === m.caughtBy),
        `expected ${m.caughtBy} to fail; failed: ${failed.map((f) => `${f.id} (${f.message})`).join("; ") || "nothing"}`,
      );
    });
  }
});
