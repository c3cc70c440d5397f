/**
 * A connector kind that exists only in configuration tests (`type: test`): every entity readable and writable,
 * so a config can name any flow, and factories that throw, since parsing a config never opens a connection.
 */
import { z } from "zod";
import { ENTITIES } from "../../src/core/model.ts";
import { defineConnector } from "../../src/ports/connector.ts";

const unused = (): never => {
  throw new Error("config tests never create connections");
};

/** The `test` connector whose connection settings are `config` (by default just a `url`). */
export function configTestConnector(config: z.ZodType = z.strictObject({ url: z.url() })) {
  return defineConnector({
    id: "test",
    version: "0",
    description: "test connector",
    config,
    client: () => null,
    entities: Object.fromEntries(ENTITIES.map((e) => [e, { read: unused, write: unused }])),
    capabilities: { rateModel: "none" },
    connection: () => ({
      check: async () => undefined,
      stats: () => ({ calls: 0, throttled: 0 }),
      close: async () => undefined,
    }),
  });
}
