import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { loadConfig } from "../config/load.ts";
import { connectorsForConfig, loadConnectors } from "../connectors/registry.ts";
import { SyncError } from "../core/errors.ts";
import { type Context, openContext } from "../runtime/context.ts";
import { discoverCommand } from "./commands/discover.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { documentCommand } from "./commands/document.ts";
import { emulateCommand } from "./commands/emulate.ts";
import {
  editFailureCommand,
  listFailures,
  resolveFailureCommand,
  retryFailures,
  showFailure,
  skipFailureCommand,
} from "./commands/failures.ts";
import { statusCommand, traceCommand } from "./commands/inspect.ts";
import { restoreCommand } from "./commands/restore.ts";
import { registerRunCommand } from "./commands/run.ts";
import { planCommand, syncCommand } from "./commands/sync.ts";
import { registerTokenCommands } from "./commands/tokens.ts";
import { registerWebhooksCommand } from "./commands/webhooks.ts";
import { registerWorkerCommand } from "./commands/worker.ts";
import { portNumber, positiveInt } from "./options.ts";
import { createOutput, EXIT, type Output, reportError } from "./output.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface GlobalOptions {
  config: string;
  json: boolean;
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Runs a command body with a context, reporting errors and setting the exit code. */
function withContext(cmd: Command, body: (ctx: Context, out: Output) => Promise<number>): Promise<void> {
  const g = globals(cmd);
  const out = createOutput(g.json);
  return (async () => {
    let ctx: Context | undefined;
    try {
      ctx = await openContext(g.config);
      out.secrets = ctx.secrets;
      for (const w of ctx.warnings) out.info(`warning: ${w}`);
      process.exitCode = await body(ctx, out);
    } catch (e) {
      process.exitCode = reportError(e, g.json, ctx?.secrets ?? []);
    } finally {
      await ctx?.close();
    }
  })();
}

export function buildProgram(): Command {
  const program = new Command("passerelle")
    .description(
      "Keeps an ERP and an online shop in step: products, prices, stock, customers, orders, shipments.",
    )
    .addOption(
      new Option("-c, --config <path>", "configuration file")
        .env("PASSERELLE_CONFIG")
        .default("passerelle.yaml"),
    )
    .option("--json", "machine-readable results on stdout (errors as JSON on stderr)", false)
    .exitOverride()
    .showHelpAfterError()
    .addHelpText(
      "after",
      `
Exit codes:
  0  done
  1  done, but some records failed or were held (passerelle failures list)
  2  bad configuration, arguments or credentials
  3  a system could not be reached or the run stopped; the next run resumes where it stopped
  4  a flow was not run: another process (worker, passerelle run, another sync) is running it`,
    );

  program
    .command("init")
    .description("write a starter passerelle.yaml in the current folder")
    .option("--force", "overwrite an existing file", false)
    .action(function (this: Command, opts: { force: boolean }) {
      const g = globals(this);
      const target = resolve(g.config);
      if (existsSync(target) && !opts.force) {
        process.exitCode = reportError(
          new SyncError("config", `${target} exists; use --force to overwrite`),
          g.json,
        );
        return;
      }
      // Beside this file: src/cli/templates in a checkout, dist/cli/templates once built (scripts/build.mjs).
      copyFileSync(new URL("./templates/passerelle.yaml", import.meta.url), target);
      createOutput(g.json).result({ written: target }, () => `Wrote ${target}. Next: passerelle validate`);
    });

  program
    .command("validate")
    .description("check the configuration file and list every problem with its path")
    .action(async function (this: Command) {
      const g = globals(this);
      const out = createOutput(g.json);
      try {
        const { config, warnings } = loadConfig(g.config, await connectorsForConfig(g.config));
        out.result(
          {
            valid: true,
            warnings,
            connections: Object.keys(config.connections),
            flows: Object.keys(config.flows),
          },
          () =>
            [
              `${g.config} is valid: ${Object.keys(config.connections).length} connections, ${Object.keys(config.flows).length} flows.`,
              ...warnings.map((w) => `warning: ${w}`),
            ].join("\n"),
        );
        process.exitCode = EXIT.ok;
      } catch (e) {
        process.exitCode = reportError(e, g.json);
      }
    });

  program
    .command("plan")
    .description(
      "dry run: read and map, then print what a sync would create, update, skip or fail, and the API calls it would make (writes nothing; exits 1 when records would fail or be held); a two-way flow's lines name the side each write goes to",
    )
    .argument("<flow>", "flow name from the configuration")
    .option("--limit <n>", "records to list in human output", positiveInt("--limit"), 50)
    .action(function (this: Command, flow: string, opts: { limit: number }) {
      return withContext(this, (ctx, out) => planCommand(ctx, out, flow, opts));
    });

  program
    .command("sync")
    .description("run flows once, from where they last stopped")
    .argument("[flows...]", "flow names (default: every flow, in configuration order)")
    .option("--max-pages <n>", "stop each flow after n source pages", positiveInt("--max-pages"))
    .option(
      "--wait <seconds>",
      "when a flow is running elsewhere, wait up to this long for it (default: do not wait; exit 4)",
      positiveInt("--wait"),
    )
    .addHelpText(
      "after",
      `
A flow is run by one process at a time (the lease flow:<name>, shared with passerelle worker and
passerelle run). A flow held elsewhere is skipped with the holder's name, and sync exits 4 after the other
flows. Ctrl-C (or SIGTERM) stops after the records being written, which are committed; the run is
recorded "interrupted" and the next sync resumes from there (a second Ctrl-C quits at once).`,
    )
    .option(
      "--all-records",
      "read every record of the source again, not from the cursor (after changing a mapping or documentLinks); unchanged records are skipped, the cursor stays; one-way flows",
    )
    .action(function (
      this: Command,
      flows: string[],
      opts: { maxPages?: number; wait?: number; allRecords?: boolean },
    ) {
      return withContext(this, (ctx, out) => {
        if (opts.allRecords && opts.maxPages)
          throw new SyncError("config", "--all-records reads every page: it takes no --max-pages", {
            field: "max-pages",
          });
        return syncCommand(ctx, out, flows.length > 0 ? flows : ctx.flowNames(), {
          ...(opts.maxPages ? { maxPages: opts.maxPages } : {}),
          ...(opts.wait ? { waitSeconds: opts.wait } : {}),
          ...(opts.allRecords ? { allRecords: true } : {}),
        });
      });
    });

  program
    .command("doctor")
    .description(
      "check every connection: reachable, credentials, API version and its support, deprecations, the user's permissions for the flows, webhooks",
    )
    .argument("[connections...]", "connection names (default: every connection)")
    .addHelpText(
      "after",
      `
The permissions check asks each system whether the configured user may read and write what the flows
need (Shopify's access scopes, Odoo's and Tryton's model access rights, Vendure's role permissions,
WooCommerce users' capabilities) and names each right missing with what to grant. Each finding is OK, WARN,
FAIL or SKIP (not applicable or not checkable), followed by what to fix. Exit 0 when nothing failed, 3 when
the only failures are systems that did not answer, 2 otherwise. See docs/alerts.md.`,
    )
    .action(function (this: Command, connections: string[]) {
      return withContext(this, (ctx, out) => doctorCommand(ctx, out, connections));
    });

  program
    .command("status")
    .description("last run, cursor and open failures of every flow")
    .action(function (this: Command) {
      return withContext(this, (ctx, out) => statusCommand(ctx, out));
    });

  const failures = program.command("failures").description("the failed-records inbox");
  failures
    .command("list")
    .description("open failed records (or --status, --all)")
    .option("--flow <name>")
    .option("--type <kind>", "retryable, rate_limited, permanent, data, config, hold or conflict")
    .option("--status <status>", "open, retrying, resolved or skipped")
    .option("--all", "every status", false)
    .action(function (this: Command, opts: { flow?: string; type?: string; status?: string; all?: boolean }) {
      return withContext(this, (ctx, out) => listFailures(ctx, out, opts));
    });
  failures
    .command("show")
    .argument("<id>")
    .description("one failed record: payloads, error, attempts")
    .action(function (this: Command, id: string) {
      return withContext(this, (ctx, out) => showFailure(ctx, out, id));
    });
  failures
    .command("retry")
    .argument("[id]")
    .option("--all", "every open failure (with --flow, of one flow)", false)
    .option("--flow <name>")
    .description("write a failed record again")
    .action(function (this: Command, id: string | undefined, opts: { all: boolean; flow?: string }) {
      return withContext(this, (ctx, out) => retryFailures(ctx, out, id, opts));
    });
  failures
    .command("resync")
    .argument("<id>")
    .description("read the record again from its source, then write it")
    .action(function (this: Command, id: string) {
      return withContext(this, (ctx, out) => retryFailures(ctx, out, id, { resync: true }));
    });
  failures
    .command("edit")
    .argument("<id>")
    .option("--file <json>", "take the edited payload from a file instead of $EDITOR")
    .description("edit the mapped payload in $EDITOR, then retry")
    .action(function (this: Command, id: string, opts: { file?: string }) {
      return withContext(this, (ctx, out) => editFailureCommand(ctx, out, id, opts));
    });
  failures
    .command("resolve")
    .argument("<id>")
    .option(
      "--take <side or file>",
      "a held two-way conflict: the side to take (its connection name, or source / target), or a JSON file with the merged record, written to both sides (owned fields stay their owner's)",
    )
    .option("--reason <text>", "a record fixed by hand in the target: how it was fixed (kept in the trace)")
    .description(
      "close a failed record: a two-way conflict by the version taken (--take), or a record fixed by hand (--reason)",
    )
    .action(function (this: Command, id: string, opts: { take?: string; reason?: string }) {
      return withContext(this, (ctx, out) => resolveFailureCommand(ctx, out, id, opts));
    });
  failures
    .command("skip")
    .argument("<id>")
    .requiredOption("--reason <text>", "why it is skipped (kept in the trace)")
    .description("close a failed record without writing it")
    .action(function (this: Command, id: string, opts: { reason: string }) {
      return withContext(this, (ctx, out) => skipFailureCommand(ctx, out, id, opts.reason));
    });

  program
    .command("trace")
    .description("every event that touched one record, across systems")
    .argument("<entity>", "category, product, price, inventory, customer, order, shipment or invoice")
    .argument("<id>", "canonical key (SKU, e-mail, shopify:#1001…) or an id in any system")
    .action(function (this: Command, entity: string, id: string) {
      return withContext(this, (ctx, out) => traceCommand(ctx, out, entity, id));
    });

  program
    .command("restore")
    .description(
      "bring back a record a two-way flow removed (twoWay.deletes): reactivated where it is archived, created again where it was deleted, then merged",
    )
    .argument("<flow>", "the two-way flow")
    .argument("<key>", "the record's canonical key (a customer's e-mail…)")
    .action(function (this: Command, flow: string, key: string) {
      return withContext(this, (ctx, out) => restoreCommand(ctx, out, flow, key));
    });

  program
    .command("document")
    .description(
      "fetch a document a system renders (a posted invoice's PDF, a delivery note) by its ref, into a file; or, with --link, print a signed link passerelle run serves it at",
    )
    .argument("<connection>", "the connection that renders it (the invoice flow's source)")
    .argument(
      "<ref>",
      "the document ref: Odoo <url>/report/pdf/account.report_invoice/<id>, Tryton <connection>:account.invoice/<id> or <connection>:stock.shipment.out/<id>",
    )
    .option("-o, --out <path>", "file to write (default: the system's file name, in the current folder)")
    .option(
      "--link",
      "print a signed link to the document instead (needs server.documentLinks; the document is not fetched)",
    )
    .option("--days <n>", "how long the link stays valid, in days (default server.documentLinks.days, 30)")
    .action(function (
      this: Command,
      connection: string,
      ref: string,
      opts: { out?: string; link?: boolean; days?: string },
    ) {
      return withContext(this, (ctx, out) => documentCommand(ctx, out, connection, ref, opts));
    });

  program
    .command("discover")
    .description(
      "print the record shapes a connection's source describes (tables and columns, a file's header, an OpenAPI document) with a starter mapping for each (reads only)",
    )
    .argument("<connection>", "connection name from the configuration")
    .option(
      "--entity <entity>",
      "the canonical entity to propose a mapping for (default: configured or guessed)",
    )
    .option("--match <text>", "only shapes whose name contains this (case and separators ignored)")
    .action(function (this: Command, connection: string, opts: { entity?: string; match?: string }) {
      return withContext(this, (ctx, out) => discoverCommand(ctx, out, connection, opts));
    });

  program
    .command("connectors")
    .description("the connector types this build knows")
    .action(async function (this: Command) {
      const connectorDefinitions = await loadConnectors();
      createOutput(globals(this).json).result(
        connectorDefinitions.map((d) => ({
          type: d.kind,
          version: d.version,
          description: d.description,
          reads: d.reads,
          writes: d.writes,
          capabilities: d.capabilities,
        })),
        () =>
          connectorDefinitions
            .map((d) => {
              const caps = Object.entries(d.capabilities)
                .map(([k, v]) => (typeof v === "boolean" ? (v ? k : null) : `${k} ${v}`))
                .filter((c) => c !== null);
              return `${d.kind} ${d.version}: ${d.description}\n  reads:  ${d.reads.join(", ")}\n  writes: ${d.writes.join(", ")}\n  capabilities: ${caps.join(", ")}`;
            })
            .join("\n"),
      );
    });

  program
    .command("schema")
    .description("print (or --out write) the JSON Schema of passerelle.yaml, for editors")
    .option("--out <file>")
    .action(async function (this: Command, opts: { out?: string }) {
      const { configJsonSchema } = await import("../config/json-schema.ts");
      const text = `${JSON.stringify(configJsonSchema(await loadConnectors()), null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });

  registerWorkerCommand(program, withContext);
  registerRunCommand(program, withContext);
  registerTokenCommands(program, withContext);
  registerWebhooksCommand(program, withContext);

  program
    .command("emulate")
    .description(
      "run an emulator of a system until interrupted (for trying flows without credentials; from a checkout)",
    )
    .argument(
      "<system>",
      "odoo, shopify, magento, sap-b1, s4hana, bigcommerce, business-central, prestashop, acumatica, sfcc, oracle-fusion or netsuite",
    )
    .option("--port <n>", "port to listen on (default, or 0: any free one)", portNumber("--port"))
    .option(
      "--products <n>",
      "seeded products (odoo, default 500; sap-b1 and business-central items, s4hana products, default 50)",
      positiveInt("--products"),
    )
    .option("--faults <spec>", "random faults, e.g. 5xx=0.05,429=0.01,timeout=0.02,drop=0.03,seed=7")
    .addHelpText(
      "after",
      `
The shopify emulator also stands in for the storefront: GET /emulator/variants lists the SKUs in stock,
and POST /emulator/orders with {"email", "lines": [{"sku", "quantity"}]} places a paid order, answers its
name and raises the shop's order webhooks. It prints both as curl commands when it starts.
The magento emulator answers Magento 2.4's admin REST API behind Adobe's OpenAPI document (a request the
document does not allow is refused with a 400); it holds 20 customers and no products until they are synced.
The sap-b1 emulator answers SAP Business One's Service Layer (/b1s/v2/, session login) behind its $metadata
document (a request the document does not allow is refused with a 400); it holds items with prices in three
price lists and stock in two warehouses, and 20 customers.
The s4hana emulator answers SAP S/4HANA's OData V2 APIs API_PRODUCT_SRV, API_BUSINESS_PARTNER and
API_SALES_ORDER_SRV (basic authentication, CSRF token) behind their EDMX documents (a request the documents do
not allow is refused with a 400); it holds products and 20 business partners with the customer role.
The netsuite emulator answers SuiteTalk REST (record v1, SuiteQL; TBA signatures checked) held to documented
shapes only (no vendor file exists), with a limit of requests in flight (429 beyond); it holds items and 20 customers.
The oracle-fusion emulator answers Oracle Fusion Cloud SCM's REST resources itemsV2 and salesOrdersForOrderHub
(basic authentication) behind Oracle's SCM Postman collections (a path, query parameter or attribute they do not
show is refused with a 400); it holds items priced in one price list.
The bigcommerce emulator answers BigCommerce's REST API (v2/v3) behind BigCommerce's OpenAPI documents, with
the store's rate quota (150 requests per 30 s) in its X-Rate-Limit-* headers; it holds 20 customers.
The business-central emulator answers Dynamics 365 Business Central's API v2.0 (OAuth2 client credentials at
its own token endpoint) behind the digest of the API v2.0 pages (a write to an unknown or read-only field is
refused with a 400), with Business Central's limit of 5 requests at once (429 beyond); it holds items (some
with variants), their stock as item ledger entries, and 20 customers.
The prestashop emulator answers PrestaShop 8's Webservice (/api/, the key as Basic user) behind PrestaShop's
documented resource schemas (a body they do not allow is refused with a 400); it holds 20 customers.
The acumatica emulator answers Acumatica 2024 R2's contract-based REST API (/entity/Default/24.200.001, cookie
login at /entity/auth/login) behind the endpoint's OpenAPI document (a request it does not allow is refused with
a 400); it holds stock items with stock in two warehouses, and 20 customers.
The sfcc emulator answers Salesforce B2C Commerce's SCAPI admin APIs (Products, Catalogs, Customers, Orders;
Account Manager client credentials at its own /dwsso/oauth2/access_token) behind Salesforce's OpenAPI documents
(a request they do not allow is refused with a 400); it holds 20 customers and no products until they are synced.
The emulators come with a checkout of the repository (packages/emulators), not with the published package.`,
    )
    .action(async function (
      this: Command,
      system: string,
      opts: { port?: number; products?: number; faults?: string },
    ) {
      const g = globals(this);
      try {
        await emulateCommand(createOutput(g.json), system, opts);
      } catch (e) {
        process.exitCode = reportError(e, g.json);
      }
    });

  program
    .command("demo")
    .description(
      "the whole loop on the emulators (from a checkout): catalog, prices, stock, customers, orders, shipments",
    )
    .option("--once", "one cycle, then exit", false)
    .option("--orders <n>", "orders placed per cycle", (v) => Number.parseInt(v, 10), 12)
    .option("--products <n>", "seeded ERP products", (v) => Number.parseInt(v, 10), 500)
    .option("--interval <seconds>", "pause between cycles", (v) => Number.parseInt(v, 10), 30)
    .option("--store <url>", "store URL (default: a fresh SQLite file under .passerelle/)")
    .action(async function (
      this: Command,
      opts: { once: boolean; orders: number; products: number; interval: number; store?: string },
    ) {
      const g = globals(this);
      try {
        // Imported here, as the server and the emulators are: a sync run loads none of them.
        const { demoCommand } = await import("./commands/demo.ts");
        process.exitCode = await demoCommand(createOutput(g.json), { ...opts, root: ROOT });
      } catch (e) {
        process.exitCode = reportError(e, g.json);
      }
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    // Usage errors (unknown command or option, bad argument) were printed by commander; --help exits 0.
    if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.config;
    else throw e;
  }
}
