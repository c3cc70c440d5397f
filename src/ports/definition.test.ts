import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import type { EntityName } from "../core/model.ts";
import type { Stream, Writer } from "./connector.ts";
import { defineConnector } from "./definition.ts";

const built: string[] = [];
/** Stand-ins the engine never calls here: these tests only look at what gets built. */
const stream =
  <E extends EntityName>(entity: E) =>
  (): Stream<E> => {
    built.push(`stream ${entity}`);
    return { entity } as Stream<E>;
  };
const writer =
  <E extends EntityName>(entity: E) =>
  (): Writer<E> => {
    built.push(`writer ${entity}`);
    return { entity } as Writer<E>;
  };

const spec = {
  id: "demo",
  version: "2.1.0",
  description: "a connector declared for these tests",
  config: z.strictObject({ url: z.url() }),
  client: (name: string, config: { url: string }) => ({ name, url: config.url }),
  entities: {
    order: { read: stream("order") },
    product: { write: writer("product") },
    customer: { read: stream("customer"), write: writer("customer") },
  },
  capabilities: { rateModel: "none" as const },
  connection: (client: { url: string }) => ({
    check: async () => undefined,
    stats: () => ({ calls: 0, throttled: 0 }),
    close: async () => undefined,
    url: () => client.url,
  }),
};

describe("defineConnector", () => {
  it("derives reads, writes and entity support from the entity map, in canonical order", () => {
    const def = defineConnector(spec);
    assert.deepEqual(def.reads, ["customer", "order"]);
    assert.deepEqual(def.writes, ["product", "customer"]);
    assert.deepEqual(def.entities, {
      product: { read: false, write: true },
      customer: { read: true, write: true },
      order: { read: true, write: false },
    });
    assert.equal(def.kind, "demo");
    assert.deepEqual(def.capabilities, {
      bulk: false,
      documents: false,
      rateModel: "none",
      webhooks: false,
      discover: false,
    });
  });

  it("builds exactly the declared streams and writers, plus the connection's own parts", () => {
    built.length = 0;
    const c = defineConnector(spec).create("shop", { url: "http://shop.test" });
    assert.deepEqual(Object.keys(c.streams).sort(), ["customer", "order"]);
    assert.deepEqual(Object.keys(c.writers).sort(), ["customer", "product"]);
    assert.equal(built.length, 4);
    assert.equal(c.name, "shop");
    assert.equal(c.kind, "demo");
    assert.equal(c.url(), "http://shop.test");
  });

  it("webhooks is a capability exactly when a receiver is declared", () => {
    const def = defineConnector({
      ...spec,
      webhooks: { receive: () => ({ kind: "reject", status: 401, reason: "no" }) },
    });
    assert.equal(def.capabilities.webhooks, true);
    assert.ok(def.webhooks);
  });

  it("refuses an entity with neither read nor write, an unknown entity and a bad id, naming them", () => {
    assert.throws(
      () => defineConnector({ ...spec, entities: { order: {} } }),
      /demo: entity order has neither/,
    );
    assert.throws(
      () => defineConnector({ ...spec, entities: { basket: { read: stream("order") } } as never }),
      /demo: unknown entity "basket"/,
    );
    assert.throws(() => defineConnector({ ...spec, id: "Not OK" }), /connector id .* got "Not OK"/);
  });
});
