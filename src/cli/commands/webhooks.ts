/**
 * `passerelle webhooks register|list|unregister <connection>`: the connection's webhook subscriptions at
 * its vendor, through the vendor's own API. `register` is idempotent: topics already subscribed to the
 * address are left as they are, so running it twice leaves one subscription per topic. The store remembers
 * each address registered (until `unregister`), so `passerelle run` subscribes it again where the vendor
 * dropped a subscription (src/runtime/webhook-renewal.ts).
 *
 * `passerelle webhooks recreate-inbox`: an empty webhook inbox file for a SQLite store that lost its own
 * (src/store/inbox/recreate.ts).
 */
import type { Command } from "commander";
import { loadConfig } from "../../config/load.ts";
import { connectorsForConfig } from "../../connectors/registry.ts";
import { SyncError } from "../../core/errors.ts";
import type { WebhookManager, WebhookSubscription } from "../../ports/connector.ts";
import { type Context, storeUrlOf } from "../../runtime/context.ts";
import { recreateWebhookInbox } from "../../store/index.ts";
import { createOutput, EXIT, type Output, reportError, table } from "../output.ts";

export interface WebhooksOptions {
  /** The URL the vendor posts to; default this configuration's server address. */
  address?: string;
  /** unregister: every subscription of the connection, whatever its address. */
  all?: boolean;
}

/** The address `passerelle run` receives `connection`'s webhooks on, from the configuration's server. */
export function defaultAddress(ctx: Context, connection: string): string {
  const { host, port, tls } = ctx.config.server;
  const shown = host.includes(":") ? `[${host}]` : host;
  return `${tls ? "https" : "http"}://${shown}:${port}/webhooks/${encodeURIComponent(connection)}`;
}

function checkAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new SyncError("config", `--address must be an http(s) URL, got ${JSON.stringify(address)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SyncError("config", `--address must be an http(s) URL, got ${JSON.stringify(address)}`);
  }
  return address;
}

function managerOf(ctx: Context, connection: string): WebhookManager {
  const connector = ctx.connectors.get(connection);
  if (!connector) {
    throw new SyncError(
      "config",
      `no connection named ${JSON.stringify(connection)} in ${ctx.configPath}; connections: ${[...ctx.connectors.keys()].join(", ") || "(none)"}`,
    );
  }
  if (!connector.webhooks) {
    const able = [...ctx.connectors.values()].filter((c) => c.webhooks).map((c) => c.name);
    throw new SyncError(
      "config",
      `connection ${JSON.stringify(connection)} (type ${connector.kind}) has no webhook support; connections that have: ${able.join(", ") || "(none)"}`,
    );
  }
  return connector.webhooks;
}

const rows = (subs: WebhookSubscription[]) => [
  ["topic", "address", "id"],
  ...subs.map((s) => [s.topic, s.url, s.id]),
];

export async function webhooksCommand(
  ctx: Context,
  out: Output,
  action: "register" | "list" | "unregister",
  connection: string,
  opts: WebhooksOptions = {},
): Promise<number> {
  const manager = managerOf(ctx, connection);
  if (action === "list") {
    const subs = await manager.list();
    out.result({ connection, subscriptions: subs }, () =>
      subs.length === 0 ? `${connection}: no webhook subscriptions` : table(rows(subs)),
    );
    return EXIT.ok;
  }
  if (opts.all && opts.address) {
    throw new SyncError("config", "--all and --address cannot be combined");
  }
  if (action === "register") {
    if (opts.all) throw new SyncError("config", "--all is for unregister only");
    const address = checkAddress(opts.address ?? defaultAddress(ctx, connection));
    const { created, existing } = await manager.register(address);
    await ctx.store.rememberWebhookAddress(connection, address);
    out.result({ connection, address, created, existing }, () =>
      [
        `${connection}: ${created.length} subscription${created.length === 1 ? "" : "s"} created, ${existing.length} already there, for ${address}`,
        ...(created.length + existing.length > 0 ? [table(rows([...created, ...existing]))] : []),
      ].join("\n"),
    );
    return EXIT.ok;
  }
  const address = opts.all ? undefined : checkAddress(opts.address ?? defaultAddress(ctx, connection));
  const removed = await manager.unregister(address);
  await ctx.store.forgetWebhookAddresses(connection, address);
  out.result({ connection, address: address ?? null, removed }, () =>
    [
      `${connection}: ${removed.length} subscription${removed.length === 1 ? "" : "s"} removed${address ? ` for ${address}` : ""}`,
      ...(removed.length > 0 ? [table(rows(removed))] : []),
    ].join("\n"),
  );
  return EXIT.ok;
}

/**
 * `recreate-inbox`: opens no context (every command that does refuses a store without its inbox file), only
 * the configuration, for the store's URL (PASSERELLE_DATABASE_URL, else store.url, as every command).
 */
async function recreateInboxCommand(configPath: string, json: boolean): Promise<number> {
  const out = createOutput(json);
  let secrets: string[] = [];
  try {
    const store = storeUrlOf(loadConfig(configPath, await connectorsForConfig(configPath)));
    secrets = store.secrets;
    out.secrets = secrets;
    const r = await recreateWebhookInbox(store.storeUrl);
    out.result(r, () =>
      r.created
        ? [
            `Created an empty webhook inbox in ${r.file}.`,
            "The events the lost file held are gone: webhooks the vendors sent meanwhile are not replayed.",
            "The next reconciliation poll of each event-driven flow (passerelle run), or a passerelle sync, reads what changed.",
          ].join("\n")
        : `Nothing done: ${r.reason}.`,
    );
    return EXIT.ok;
  } catch (e) {
    return reportError(e, json, secrets);
  }
}

/** Adds `passerelle webhooks register|list|unregister|recreate-inbox` to the program. */
export function registerWebhooksCommand(
  program: Command,
  withContext: (cmd: Command, body: (ctx: Context, out: Output) => Promise<number>) => Promise<void>,
): void {
  const webhooks = program
    .command("webhooks")
    .description("a connection's webhook subscriptions at its vendor (for passerelle run)");
  const address =
    "the URL the vendor posts to (default: http://<server.host>:<server.port>/webhooks/<connection>)";
  webhooks
    .command("register")
    .argument("<connection>", "connection name from the configuration")
    .option("--address <url>", address)
    .description("subscribe the connection's default topics to the address (idempotent)")
    .action(function (this: Command, connection: string, opts: { address?: string }) {
      return withContext(this, (ctx, out) => webhooksCommand(ctx, out, "register", connection, opts));
    });
  webhooks
    .command("list")
    .argument("<connection>", "connection name from the configuration")
    .description("every webhook subscription of the connection")
    .action(function (this: Command, connection: string) {
      return withContext(this, (ctx, out) => webhooksCommand(ctx, out, "list", connection));
    });
  webhooks
    .command("unregister")
    .argument("<connection>", "connection name from the configuration")
    .option("--address <url>", address)
    .option("--all", "every subscription of the connection, whatever its address", false)
    .description("remove the subscriptions to the address (or --all)")
    .action(function (this: Command, connection: string, opts: { address?: string; all: boolean }) {
      return withContext(this, (ctx, out) => webhooksCommand(ctx, out, "unregister", connection, opts));
    });
  webhooks
    .command("recreate-inbox")
    .description(
      "a SQLite store whose webhook inbox file (<store>-inbox) was lost: create it empty, so commands start again (the events it held are lost; restore it from a backup instead where you have one)",
    )
    .action(async function (this: Command) {
      const g = this.optsWithGlobals() as { config: string; json: boolean };
      process.exitCode = await recreateInboxCommand(g.config, g.json);
    });
}
