/**
 * The Tryton connector against a real trytond (Debian's tryton-server 6.0 and modules), started on a free
 * loopback port from a copy of the set-up database (scripts/real/tryton.mjs). Run by `npm run test:real`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  fulfilSale,
  type SeedResult,
  type StartedTryton,
  seedTryton,
  startTryton,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { TrytonConfig } from "../../src/connectors/tryton/config.ts";
import { createTrytonConnector, type TrytonConnector, tryton } from "../../src/connectors/tryton/index.ts";
import { SyncError } from "../../src/core/errors.ts";
import { type Customer, type EntityName, type Order, Product } from "../../src/core/model.ts";
import type { Stream, WriteItem } from "../../src/ports/connector.ts";
import { runContractSuite } from "../../src/ports/contract-suite.ts";
import { closedPort } from "../helpers/net.ts";

const available = trytonAvailable();
/** pdftotext (poppler-utils), when installed, lets the PDF test read the invoice number in the document. */
const pdftotext = spawnSync("sh", ["-c", "command -v pdftotext"], { encoding: "utf8" }).stdout.trim() || null;
if (!available.ok) {
  test("Tryton is installed", { skip: available.missing ?? "trytond missing" }, () => {});
} else {
  const run = Date.now().toString(36);
  let seq = 0;
  const connect = (erp: StartedTryton, over: Partial<TrytonConfig> = {}, name = "tryton"): TrytonConnector =>
    createTrytonConnector(
      name,
      TrytonConfig.parse({ url: erp.url, db: erp.db, username: erp.user, password: erp.password, ...over }),
    );

  const sampleCustomer = (group?: string): Customer => {
    const n = ++seq;
    const email = `buyer-${run}-${n}@example.com`;
    return {
      source: "shop",
      sourceId: String(n),
      updatedAt: new Date().toISOString(),
      key: email,
      email,
      firstName: "Ada",
      lastName: `Buyer${n}`,
      group,
      addresses: [
        { type: "both", line1: `Lindenstraße ${n}`, city: "Hamburg", postalCode: "20095", country: "DE" },
      ],
    };
  };

  /** An order Tryton can total exactly: net prices in whole euros, 19 % VAT. */
  const sampleOrder = (skus: string[], opts: { discount?: string; shipping?: boolean } = {}): Order => {
    const n = ++seq;
    const email = `shopper-${run}-${n}@example.com`;
    const lines = [
      {
        sku: skus[n % skus.length] as string,
        quantity: 2,
        unitPrice: "10.00",
        discount: opts.discount ?? "0",
      },
      { sku: skus[(n + 1) % skus.length] as string, quantity: 1, unitPrice: "25.00", discount: "0" },
    ];
    const ship = opts.shipping ? 5 : 0;
    const net = 45 - Number(opts.discount ?? 0) + ship;
    const tax = (net * 0.19).toFixed(2);
    const rate = (amount: number) => [{ title: "VAT 19%", rate: "0.19", amount: (amount * 0.19).toFixed(2) }];
    return {
      source: "shop",
      sourceId: String(n),
      updatedAt: new Date().toISOString(),
      key: `shop:${run}-${n}`,
      number: `${run}-${n}`,
      placedAt: new Date().toISOString(),
      currency: "EUR",
      customer: { key: email, email, name: `Shopper ${n}` },
      billingAddress: {
        type: "both",
        line1: `Ringstraße ${n}`,
        city: "Wien",
        postalCode: "1010",
        country: "AT",
      },
      lines: lines.map((l) => ({ ...l, taxes: rate(l.quantity * Number(l.unitPrice) - Number(l.discount)) })),
      shipping: opts.shipping ? { title: "Standard", amount: "5.00", taxes: rate(5) } : undefined,
      discounts: [],
      taxesIncluded: false,
      totalTax: tax,
      total: (net + Number(tax)).toFixed(2),
      financialStatus: "paid",
      fulfillmentStatus: "unfulfilled",
      payments: [],
      cancelled: false,
    };
  };
  /** Calls per method with their median and slowest latency. */
  const summary = (connector: TrytonConnector) =>
    [...connector.latencies()]
      .map(([method, list]) => {
        const sorted = [...list].sort((a, b) => a - b);
        const median = Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0);
        return `${method.replace(/^model\./, "")} n=${list.length} median=${median}ms max=${Math.round(sorted[sorted.length - 1] ?? 0)}ms`;
      })
      .join("; ");
  const item = <E extends EntityName>(record: Order | Customer): WriteItem<E> =>
    ({ key: record.key, record, targetId: null, externalRef: record.key }) as unknown as WriteItem<E>;
  const noLinks = { resolve: async () => null };

  let erp: StartedTryton;
  let seed: SeedResult;
  let dir: string;
  const timings: Record<string, number> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-tryton-"));
    const t0 = Date.now();
    erp = await startTryton({ dir, log: (m) => console.error(m) });
    timings.start = Date.now() - t0;
    if (erp.timings.build) timings.dbInit = erp.timings.build.totalMs;
    const t1 = Date.now();
    seed = await seedTryton(erp, { products: 12, variantsEvery: 4, prefix: `C${run}` });
    timings.seed = Date.now() - t1;
    // A category tree, so the category stream has several pages.
    const session = await trytonSession(erp);
    const tops = await session.create(
      "product.category",
      [1, 2, 3].map((i) => ({ name: `C${run} Top ${i}` })),
    );
    await session.create(
      "product.category",
      tops.flatMap((parent, i) => [1, 2].map((j) => ({ name: `C${run} Sub ${i + 1}.${j}`, parent }))),
    );
    // Customers, then shipped and invoiced sales, so every stream has several pages.
    const connector = connect(erp);
    const t2 = Date.now();
    const customers = await connector.writers.customer?.upsert(
      [1, 2, 3, 4].map(() => item<"customer">(sampleCustomer("wholesale"))),
      noLinks,
    );
    assert.ok(customers?.every((r) => r.ok));
    const orders = [1, 2, 3, 4, 5].map((i) => sampleOrder(seed.skus, { shipping: i % 2 === 0 }));
    const written = await connector.writers.order?.upsert(
      orders.map((o) => item<"order">(o)),
      noLinks,
    );
    for (const r of written ?? []) {
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      await fulfilSale(erp, Number(r.targetId), `TRACK-${r.key.slice(-6)}`);
    }
    timings.ordersShippedInvoiced = Date.now() - t2;
  });

  after(async () => {
    await erp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.error(`tryton timings (ms): ${JSON.stringify(timings)}`);
  });

  describe("tryton (real server)", () => {
    const started = Date.now();
    runContractSuite(
      tryton,
      async () => {
        const settings = { url: erp.url, db: erp.db, username: erp.user, password: erp.password };
        let connector: TrytonConnector | undefined;
        const session = await trytonSession(erp);
        // Products are written back only onto templates Tryton holds (their descriptions): the samples are
        // three of the seeded products, as the product stream reads them.
        const products = connect(erp).streams.product as Stream<"product">;
        const seeded: Product[] = [];
        for (const t of seed.templates.slice(0, 3)) {
          const native = await products.get(String(t));
          assert.ok(native, `seeded template ${t} is not read back`);
          seeded.push(Product.parse(await products.toCanonical(native)));
        }
        return {
          config: TrytonConfig.parse(settings),
          badCredentials: TrytonConfig.parse({ ...settings, password: "wrong-password" }),
          unreachable: TrytonConfig.parse({ ...settings, url: `http://127.0.0.1:${await closedPort()}` }),
          skip: {
            "*.inserts":
              "no insert hook against the real Tryton yet (and no Tryton emulator): paging under inserts is not checked for Tryton",
            faults:
              "a real Tryton cannot be made to answer 429 or 5xx here: fault handling is not checked for Tryton by this suite",
            "order.touch": "the fixture's touch has no way yet to change a sale without changing its state",
            "product.create":
              "products are created in the ERP: the product writer writes descriptions onto the templates Tryton holds, so a first write is never a create (lookup and reject are checked here; test/real/two-way-products-tryton-vendure.test.ts writes descriptions end to end, edited in Vendure, read back from Tryton, written again without a write)",
            "product.readback": "see product.create",
            "product.update": "see product.create",
            "product.reapply": "see product.create",
            "refund.write":
              "a refund credits the posted invoice of a sale the shop's order became: test/real/refunds-tryton-vendure.test.ts writes refunds to the real Tryton end to end (created once, rerun, second refund, over-refund, draft invoice)",
            "refund.read":
              "this fixture's sales have no credit notes: credit notes are read from the real Tryton as refunds in test/real/refunds-tryton-vendure.test.ts (a credit wizard's posted credit note read once, a rerun reading nothing, Passerelle's own credit notes keeping the shop refund's key)",
          },
          samples: {
            customer: () => [sampleCustomer("vip"), sampleCustomer(), sampleCustomer("wholesale")],
            product: () => seeded.map((p) => ({ ...p, description: `Contract description ${run}` })),
            order: () => [
              sampleOrder(seed.skus),
              sampleOrder(seed.skus, { discount: "2.00" }),
              sampleOrder(seed.skus, { shipping: true }),
            ],
          },
          rejects: {
            order: (): Order => {
              const o = sampleOrder(seed.skus);
              return { ...o, lines: o.lines.map((l) => ({ ...l, sku: `UNKNOWN-${run}` })) };
            },
            product: (): Product => ({ ...(seeded[0] as Product), key: `ONLY-IN-SHOP-${run}` }),
            customer: (): Customer => ({
              ...sampleCustomer(),
              addresses: [{ type: "both", line1: "1 Main St", city: "Nowhere", country: "ZZ" }],
            }),
          },
          change: {
            customer: (c: Customer): Customer => ({ ...c, lastName: `${c.lastName ?? ""} Changed` }),
            order: (o: Order): Order => ({ ...o, cancelled: true }),
          },
          normalise: {
            customer: (c) => {
              const r = c as Customer;
              return { email: r.email, name: [r.firstName, r.lastName].filter(Boolean).join(" ") };
            },
            order: (o) => {
              const r = o as Order;
              return {
                total: r.total,
                cancelled: r.cancelled,
                lines: r.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
              };
            },
          },
          async touch(entity, id) {
            if (entity === "category") {
              await session.model("product.category", "write", [Number(id)], { name: `Touched ${id}` });
            } else if (entity === "product") {
              await session.model("product.template", "write", [Number(id)], { name: `Touched ${id}` });
            } else if (entity === "customer") {
              await session.model("party.party", "write", [Number(id)], { name: `Touched Customer ${id}` });
            } else if (entity === "shipment") {
              const [s] = (await session.model(
                "stock.shipment.out",
                "read",
                [Number(id)],
                ["reference"],
              )) as { reference: string }[];
              await session.model("stock.shipment.out", "write", [Number(id)], { reference: s?.reference });
            } else if (entity === "invoice") {
              // Rewrites the cached report format with its own value: a change without changing anything.
              const [i] = (await session.model(
                "account.invoice",
                "read",
                [Number(id)],
                ["invoice_report_format"],
              )) as { invoice_report_format: string }[];
              await session.model("account.invoice", "write", [Number(id)], {
                invoice_report_format: i?.invoice_report_format,
              });
            } else if (entity === "price") {
              const [, list, product] = /^pl(\d+)p(\d+)$/.exec(id) ?? [];
              const factor = seed.priceLists.find((l) => l.id === Number(list))?.factor ?? "1";
              await session.create("product.price_list.line", [
                { price_list: Number(list), product: Number(product), formula: `unit_price * ${factor}` },
              ]);
            } else if (entity === "inventory") {
              const [, wh, product] = /^wh(\d+)p(\d+)$/.exec(id) ?? [];
              const [loc] = (await session.model(
                "stock.location",
                "read",
                [Number(wh)],
                ["storage_location"],
              )) as {
                storage_location: number;
              }[];
              const [inv] = await session.create("stock.inventory", [
                {
                  location: loc?.storage_location,
                  company: session.context.company,
                  lines: [["create", [{ product: Number(product), quantity: 99 }]]],
                },
              ]);
              await session.model("stock.inventory", "confirm", [inv]);
            }
          },
          // The calls of the suite's connection that change data, by Tryton method name.
          writes: (c) => {
            connector = c as TrytonConnector;
            let n = 0;
            for (const [method, calls] of connector.latencies()) {
              if (/\.(create|write|delete|quote|confirm|process|cancel|draft)$/.test(method))
                n += calls.length;
            }
            return n;
          },
          teardown: async () => {
            timings.contractSuite = Date.now() - started;
            if (connector) console.error(`tryton latencies in the contract suite: ${summary(connector)}`);
          },
        };
      },
      "tryton (real)",
    );
  });

  describe("tryton bad input", () => {
    test("Tryton down: a retryable error naming the system and where it was looked for", async () => {
      const port = await closedPort();
      const down = connect(erp, { url: `http://127.0.0.1:${port}` }, "erp-down");
      const err = await down.check().then(
        () => assert.fail("check() succeeded against a closed port"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError);
      assert.equal(err.kind, "retryable");
      assert.equal(err.details.system, "erp-down");
      assert.match(err.message, new RegExp(`Tryton at http://127\\.0\\.0\\.1:${port}`));
    });

    test("the health check reads trytond's version: the connection and doctor show it", async () => {
      const c = connect(erp, {}, "erp-version");
      await c.check();
      const v = c.apiVersion?.();
      assert.equal(v?.api, "Tryton JSON-RPC");
      assert.match(v?.version ?? "", /^trytond \d+\.\d+\.\d+$/);
    });

    test("doctor's permissions: the admin holds what the flows need; a user in no group lacks the sale rights, as Tryton answers", async () => {
      const use = {
        reads: ["product", "inventory"] as EntityName[],
        writes: ["order", "customer"] as EntityName[],
      };
      const admin = await connect(erp, {}, "erp-rights").permissions?.(use);
      assert.ok(admin && admin.length > 0);
      assert.deepEqual(
        admin.filter((r) => r.granted !== true),
        [],
        "the admin holds every right the flows need",
      );
      const session = await trytonSession(erp);
      // Tryton refuses a password whose characters repeat too often (its password_entropy, 0.75 by
      // default): no character appears twice in this one, whatever the run's id.
      const password = [...new Set(`Clerk#${run}Passwd0123456789`)].join("");
      await session.create("res.user", [{ name: "Clerk", login: `clerk-${run}`, password, groups: [] }]);
      const clerk = await connect(erp, { username: `clerk-${run}`, password }, "erp-clerk").permissions?.(
        use,
      );
      const missing = (clerk ?? []).filter((r) => r.granted === false).map((r) => r.right);
      assert.ok(missing.includes("sale.sale: create"), `missing: ${missing.join(", ")}`);
      const create = clerk?.find((r) => r.right === "sale.sale: create");
      assert.equal(create?.neededFor, "write order");
      assert.match(create?.how ?? "", /^ir\.model\.access\.get_access/);
      assert.match(create?.grant ?? "", /group with create access to sale\.sale/);
    });

    test("wrong password: a config error naming the system, the user and the database, never the password", async () => {
      const bad = connect(erp, { password: "not-the-password-42" }, "erp-bad");
      const err = await bad.check().then(
        () => assert.fail("check() accepted a wrong password"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError);
      assert.equal(err.kind, "config");
      assert.equal(err.details.system, "erp-bad");
      assert.match(err.message, /Tryton .* rejected the login of user "admin" on database "erp"/);
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /not-the-password-42/);
    });

    test("a product Tryton cannot give a SKU fails alone, naming the record; the rest map", async () => {
      const session = await trytonSession(erp);
      const unit = await session.one("product.uom", [["symbol", "=", "u"]]);
      const [template] = await session.create("product.template", [
        {
          name: `No Code ${run}`,
          type: "goods",
          default_uom: unit.id,
          list_price: { __class__: "Decimal", decimal: "9.90" },
          salable: true,
          sale_uom: unit.id,
          products: [["create", [{}]]],
        },
      ]);
      const stream = connect(erp).streams.product as Stream<"product">;
      let ok = 0;
      const failures: SyncError[] = [];
      for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 50 })) {
        for (const native of page) {
          try {
            await stream.toCanonical(native);
            ok++;
          } catch (e) {
            assert.ok(e instanceof SyncError);
            failures.push(e);
          }
        }
      }
      assert.equal(failures.length, 1, failures.map((f) => f.message).join("; "));
      assert.equal(failures[0]?.kind, "data");
      assert.match(
        failures[0]?.message ?? "",
        new RegExp(`product\\.template ${template} \\(No Code ${run}\\) has no code`),
      );
      assert.ok(ok >= 12, `only ${ok} products mapped`);
    });

    test("an order Tryton refuses (unknown product) fails naming the order and the SKU; the next one is written", async () => {
      const connector = connect(erp);
      const good = sampleOrder(seed.skus);
      const bad = { ...sampleOrder(seed.skus), lines: [{ ...good.lines[0]!, sku: `GONE-${run}` }] };
      const results = await connector.writers.order!.upsert(
        [item<"order">(bad), item<"order">(good)],
        noLinks,
      );
      const byKey = new Map(results.map((r) => [r.key, r]));
      const failed = byKey.get(bad.key);
      assert.ok(failed && !failed.ok);
      assert.equal(failed.error.kind, "permanent");
      assert.equal(failed.error.details.system, "tryton");
      assert.match(failed.error.message, new RegExp(`order ${bad.key}: no product with code "GONE-${run}"`));
      assert.ok(byKey.get(good.key)?.ok);
    });

    test("an order's addresses: the party's read once; a new billing and shipping address each created once, and one address for both when they are the same", async () => {
      const connector = connect(erp);
      const o = sampleOrder(seed.skus);
      const apart: Order = {
        ...o,
        billingAddress: {
          type: "billing",
          line1: `Graben ${run}`,
          city: "Wien",
          postalCode: "1010",
          country: "AT",
        },
        shippingAddress: {
          type: "shipping",
          line1: `Lagerweg ${run}`,
          city: "Linz",
          postalCode: "4020",
          country: "AT",
        },
      };
      const markt = {
        type: "both",
        line1: `Markt ${run}`,
        city: "Graz",
        postalCode: "8010",
        country: "AT",
      } as const;
      const same: Order = { ...sampleOrder(seed.skus), billingAddress: markt, shippingAddress: { ...markt } };
      const calls = (method: string) => connector.latencies().get(`model.${method}`)?.length ?? 0;
      const results = await connector.writers.order!.upsert(
        [item<"order">(apart), item<"order">(same)],
        noLinks,
      );
      for (const r of results) assert.ok(r.ok, r.ok ? "" : r.error.message);
      assert.equal(calls("party.address.search_read"), 2, "one read of the party's addresses per order");
      assert.equal(calls("party.address.create"), 3, "two addresses for the first order, one for the second");
      const session = await trytonSession(erp);
      const sales = await session.find(
        "sale.sale",
        [["reference", "in", [apart.key, same.key]]],
        [
          "reference",
          "invoice_address.street",
          "shipment_address.street",
          "invoice_address",
          "shipment_address",
          "party",
        ],
      );
      const street = (row: Record<string, unknown> | undefined, field: string) =>
        (row?.[`${field}.`] as { street?: string } | undefined)?.street;
      const first = sales.find((r) => r.reference === apart.key);
      assert.equal(street(first, "invoice_address"), `Graben ${run}`);
      assert.equal(street(first, "shipment_address"), `Lagerweg ${run}`);
      const second = sales.find((r) => r.reference === same.key);
      assert.equal(second?.invoice_address, second?.shipment_address, "the same address, not a copy of it");
      // Tryton gives a party made over RPC an empty address of its own; the order's is there once.
      const held = await session.find("party.address", [["party", "=", Number(second?.party)]], ["street"]);
      assert.equal(held.filter((a) => a.street === `Markt ${run}`).length, 1, JSON.stringify(held));
    });

    test("an order whose total Tryton computes differently stays a draft and fails naming both totals", async () => {
      const connector = connect(erp);
      const o = sampleOrder(seed.skus);
      const wrong = { ...o, total: (Number(o.total) + 1).toFixed(2) };
      const [r] = await connector.writers.order!.upsert([item<"order">(wrong)], noLinks);
      assert.ok(r && !r.ok);
      assert.equal(r.error.kind, "data");
      assert.match(r.error.message, new RegExp(`Tryton computes a total of ${o.total}`));
      const session = await trytonSession(erp);
      const [sale] = await session.find("sale.sale", [["reference", "=", o.key]], ["state"]);
      assert.equal(sale?.state, "draft");
    });

    test("a price list's quantity rules become tier breaks, priced by Tryton", async () => {
      const session = await trytonSession(erp);
      const [list] = await session.create("product.price_list", [
        {
          name: `Bulk ${run}`,
          company: session.context.company,
          lines: [
            [
              "create",
              [
                { sequence: 1, quantity: 10, formula: "unit_price * 0.5" },
                { sequence: 2, formula: "unit_price" },
              ],
            ],
          ],
        },
      ]);
      const [variant] = await session.find("product.product", [["code", "=", seed.skus[0]]], ["list_price"]);
      assert.ok(variant);
      const stream = connect(erp).streams.price as Stream<"price">;
      const native = await stream.get(`pl${list}p${variant.id}`);
      assert.ok(native);
      const price = await stream.toCanonical(native);
      const base = (variant.list_price as { decimal: string }).decimal;
      assert.equal(Number(price.price), Number(base));
      assert.deepEqual(
        price.tiers.map((t) => [t.minQuantity, Number(t.price)]),
        [[10, Number(base) * 0.5]],
      );
      assert.equal(price.priceList.customerGroup, `bulk-${run}`);
    });

    test("a posted invoice's document is a PDF rendered by Tryton, named on the canonical invoice", async () => {
      const connector = connect(erp);
      const stream = connector.streams.invoice as Stream<"invoice">;
      let native: unknown;
      for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 1 })) {
        native = page[0];
        break;
      }
      assert.ok(native);
      const invoice = await stream.toCanonical(native as never);
      const id = stream.idOf(native as never);
      assert.deepEqual(invoice.document, {
        ref: `tryton:account.invoice/${id}`,
        mimeType: "application/pdf",
      });

      const t0 = Date.now();
      const doc = await connector.invoiceDocument(id);
      timings.invoiceDocument = Date.now() - t0;
      assert.equal(doc.format, "pdf");
      assert.equal(doc.mimeType, "application/pdf");
      assert.equal(Buffer.from(doc.bytes.subarray(0, 5)).toString("latin1"), "%PDF-");
      assert.ok(doc.bytes.length > 5000, `a ${doc.bytes.length}-byte PDF`);
      assert.match(Buffer.from(doc.bytes.subarray(-1024)).toString("latin1"), /%%EOF\s*$/);
      assert.match(doc.fileName, /\.pdf$/);
      if (pdftotext) {
        const file = join(dir, `invoice-${id}.pdf`);
        writeFileSync(file, doc.bytes);
        const text = spawnSync(pdftotext, [file, "-"], { encoding: "utf8" });
        assert.equal(text.status, 0, text.stderr);
        assert.ok(text.stdout.includes(invoice.number), `${invoice.number} not in the PDF text`);
      }
      console.error(`tryton latencies (invoice document): ${summary(connector)}`);
    });

    test("an invoice posted while the report renders OpenDocument is refused, not passed off as a PDF", async () => {
      const session = await trytonSession(erp);
      const [report] = await session.find(
        "ir.action.report",
        [["report_name", "=", "account.invoice"]],
        ["id"],
      );
      assert.ok(report);
      const connector = connect(erp, {}, "erp-odt");
      let invoiceId = 0;
      await session.model("ir.action.report", "write", [report.id], { extension: "" });
      try {
        const order = sampleOrder(seed.skus);
        const [written] = await connector.writers.order!.upsert([item<"order">(order)], noLinks);
        assert.ok(written?.ok, written && !written.ok ? written.error.message : "not written");
        const { invoices } = await fulfilSale(erp, Number(written.targetId), "TRACK-ODT");
        invoiceId = invoices[0] ?? 0;
      } finally {
        await session.model("ir.action.report", "write", [report.id], { extension: "pdf" });
      }
      assert.ok(invoiceId > 0);
      const [posted] = await session.find("account.invoice", [["id", "=", invoiceId]], ["number", "state"]);
      assert.equal(posted?.state, "posted");

      // The setting is back to PDF, but the invoice keeps the rendering it was posted with.
      const err = await connector.invoiceDocument(String(invoiceId)).then(
        () => assert.fail("an OpenDocument rendering was returned as the invoice document"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError);
      assert.equal(err.kind, "config");
      assert.equal(err.details.system, "erp-odt");
      assert.match(
        err.message,
        new RegExp(`account\\.invoice ${invoiceId} \\(${String(posted.number)}\\) as odt`),
      );
      assert.match(err.message, /needs LibreOffice/);

      const stream = connector.streams.invoice as Stream<"invoice">;
      const native = await stream.get(String(invoiceId));
      assert.ok(native);
      assert.equal((await stream.toCanonical(native)).document, undefined);

      // The fix the error names: with the report set to PDF, clearing the cache renders it again.
      await session.model("account.invoice", "write", [invoiceId], {
        invoice_report_cache: null,
        invoice_report_format: null,
      });
      const doc = await connector.invoiceDocument(String(invoiceId));
      assert.equal(Buffer.from(doc.bytes.subarray(0, 5)).toString("latin1"), "%PDF-");
      const [cached] = await session.find(
        "account.invoice",
        [["id", "=", invoiceId]],
        ["invoice_report_format"],
      );
      assert.equal(cached?.invoice_report_format, "pdf");
    });
  });
}
