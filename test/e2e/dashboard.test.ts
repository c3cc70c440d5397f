/**
 * The dashboard in a real browser: Debian's Chromium (headless, driven by playwright-core) against a running
 * `passerelle run` (the real CLI) with the emulated ERP and shop. An operator opens the dashboard, is asked
 * for a token, finds the stock levels a bad mapping failed (a location name with a typo the shop does not
 * have), corrects the mapped record, retries it, and sees the record synced in its lineage. On the way:
 * an order traced to the ERP by its shop number, an unknown record's 404 shown as a message, and a
 * connection whose credential stopped working. Then a two-way flow between two emulated ERPs holds a conflict
 * (the same phone edited on both sides): the dashboard shows both versions side by side and takes one.
 *
 * Screenshots go to test-artifacts/dashboard/ (gitignored), or to $PASSERELLE_SCREENSHOTS: the runbooks'
 * pictures are made with `npm run docs:screenshots` (docs/runbooks/img).
 *
 * Chromium is found at $PASSERELLE_CHROMIUM or /usr/bin/chromium (.ci/run installs Debian's package). Missing,
 * the test fails in CI (CI=true) and is skipped, saying why, elsewhere.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type OdooEmulator, placeOrders, startOdooEmulator } from "@passerelle/emulators";
import { type Browser, chromium, type Page } from "playwright-core";
import { rng } from "../../src/core/prng.ts";
import { explain, json, ROOT, spawnCli, startWorld, type World } from "./helpers.ts";
import { type LongRunning, startCli } from "./long-running.ts";
import { odooSalesByRef } from "./state.ts";

const CHROMIUM = process.env.PASSERELLE_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = resolve(ROOT, process.env.PASSERELLE_SCREENSHOTS ?? "test-artifacts/dashboard");
const missing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
if (missing && process.env.CI === "true") {
  throw new Error(`the dashboard's browser test cannot run in CI: ${missing}`);
}

const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

const launch = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });

/**
 * A step in the browser. A locator that timed out says only what it waited for; failing, a step says what
 * the page showed instead (its address and text, and any script error it threw) and keeps a screenshot,
 * FAILED-<step>.png. A script error in the page fails the step too.
 */
function step(name: string, page: () => Page, fn: () => Promise<void>) {
  it(name, async () => {
    const p = page();
    const errors: Error[] = [];
    const onError = (e: Error) => errors.push(e);
    p.on("pageerror", onError);
    let failure: unknown = null;
    try {
      await fn();
    } catch (e) {
      failure = e;
    } finally {
      p.off("pageerror", onError);
    }
    if (failure === null && errors.length === 0) return;
    const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
    await p.screenshot({ path: join(SHOTS, `FAILED-${slug}.png`), fullPage: true }).catch(() => {});
    const text = await p
      .locator("body")
      // biome-ignore lint/performance/useDomNodeTextContent: the text as laid out (rows on lines) reads better in a log
      .innerText({ timeout: 2_000 })
      .catch((e: Error) => `(unreadable: ${e.message})`);
    throw new Error(
      [
        failure instanceof Error ? failure.message : failure === null ? "the page threw" : String(failure),
        `--- the page at ${p.url()} showed:`,
        text.slice(0, 2_000),
        ...errors.map((e) => `--- a script error in the page: ${e.stack ?? e.message}`),
      ].join("\n"),
      { cause: failure ?? errors[0] },
    );
  });
}

describe("the dashboard in Chromium, on a running passerelle run", { skip: missing ?? false }, () => {
  let world: World;
  let run: LongRunning;
  let browser: Browser;
  let page: Page;
  let base = "";
  let token = "";
  let order = "";

  const api = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const shot = (name: string) => screenshot(page, name);

  before(async () => {
    assert.ok(
      existsSync(join(ROOT, "dist/web/index.html")),
      "dist/web is missing: run `npm run build` before this test (npm test does)",
    );
    mkdirSync(SHOTS, { recursive: true });
    world = await startWorld({ products: 3 });
    // The bad mapping: the ERP's warehouse WH mapped to a location name with a typo.
    world.writeConfig("passerelle.yaml", (doc) => {
      doc.setIn(
        ["flows", "stock", "mapping", "location"],
        doc.createNode({ from: "location", map: { WH: "Main Warehous", WH2: "East Warehouse" } }),
      );
    });
    const synced = await world.cli(["sync", "products", "prices", "stock"]);
    assert.equal(synced.code, 1, `stock partly fails on the bad location name\n${explain(synced)}`);
    const shop = world.systems.shopify;
    for (const item of shop.data.inventoryItems.values())
      for (const level of item.levels.values()) level.available = 1000;
    order = `shopify:${placeOrders(shop, 1, rng(7))[0]?.name}`;
    const orders = await world.cli(["sync", "orders"]);
    assert.equal(orders.code, 0, explain(orders));
    assert.equal(odooSalesByRef(world.systems.odoo, order).length, 1);

    const made = await world.cli(["tokens", "create", "--role", "operator", "--name", "dashboard", "--json"]);
    assert.equal(made.code, 0, explain(made));
    token = (json(made) as { bearer: string }).bearer;

    run = startCli(["run", "--port", "0"], world.env);
    base = (await run.waitFor("stderr", /Listening on (http:\/\/127\.0\.0\.1:\d+)/))[1] ?? "";
    await run.waitFor("stderr", new RegExp(`Dashboard: ${base.replaceAll(".", "\\.")}/`));
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    if (run) {
      const res = await run.stop();
      assert.equal(res.code, 0, explain(res));
    }
    await world?.close();
  });

  step(
    "asks for a token (the API's 401 shown, not a blank page), then shows the flows",
    () => page,
    async () => {
      await page.goto(`${base}/`);
      await page.getByRole("alert").filter({ hasText: "401 missing bearer token" }).first().waitFor();
      await shot("token-needed");
      await page.getByLabel("API token").fill(token);
      await page.getByRole("button", { name: "Use token" }).click();
      const flows = page.getByTestId("flows");
      await flows.waitFor();
      const stock = flows
        .getByRole("row")
        .filter({ has: page.getByRole("link", { name: "stock", exact: true }) });
      await stock.getByText("partial").waitFor();
      assert.ok(Number(await stock.locator("td").nth(6).textContent()) > 0, "stock shows its open failures");
      await shot("overview");
    },
  );

  step(
    "traces an order from the shop to the ERP by its order number",
    () => page,
    async () => {
      const number = order.replace(/^shopify:/, "");
      await page.getByRole("link", { name: "Record lineage" }).click();
      await page.getByLabel("record", { exact: true }).fill(number);
      await page.getByRole("button", { name: "Trace" }).click();
      const lineage = page.getByTestId("lineage");
      await lineage.waitFor();
      await lineage.getByRole("columnheader", { name: "odoo" }).waitFor();
      await lineage.locator("tr[data-kind=created]").first().waitFor();
      await shot("trace-order");
    },
  );

  step(
    "an unknown record: the API's 404 message on the page",
    () => page,
    async () => {
      await page.goto(`${base}/#/trace/order/${encodeURIComponent("#999999")}`);
      await page.getByRole("alert").filter({ hasText: '404 no order "#999999"' }).waitFor();
      await shot("trace-not-found");
    },
  );

  step(
    "finds the stock level the bad mapping failed, edits it, retries, and sees it synced in the lineage",
    () => page,
    async () => {
      await page.getByRole("link", { name: "Failed records" }).click();
      const failures = page.getByTestId("failures");
      await failures.waitFor();
      const row = failures
        .getByRole("row")
        .filter({ hasText: 'no active Shopify location is named "Main Warehous"' });
      assert.ok((await row.count()) > 0, "the bad mapping's failures are listed");
      await shot("failures");
      await row.first().getByRole("link").first().click();

      const editor = page.getByTestId("mapped-editor");
      await editor.waitFor();
      await page.getByTestId("failure-error").getByText("Main Warehous").waitFor();
      const edited = (await editor.inputValue()).replace('"Main Warehous"', '"Main Warehouse"');
      assert.match(edited, /"location": "Main Warehouse"/);
      await editor.fill(edited);
      await shot("failure-edit");
      await page.getByRole("button", { name: "Save and retry" }).click();
      const result = page.getByTestId("action-result").or(page.getByRole("alert"));
      await result.first().waitFor();
      const said = (await result.first().textContent()) ?? "";
      assert.match(said, /^Done: (created|updated)/);
      await shot("failure-retried");

      await result.getByRole("link", { name: "see the record's lineage" }).click();
      const lineage = page.getByTestId("lineage");
      await lineage.waitFor();
      await lineage
        .getByTestId("lineage-state")
        .getByText(/^(created|updated)$/)
        .waitFor();
      const kinds = await lineage
        .locator("tbody tr")
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-kind")));
      for (const k of ["failed", "edited", "retried"]) assert.ok(kinds.includes(k), `${k} in ${kinds}`);
      const written = Math.max(kinds.lastIndexOf("created"), kinds.lastIndexOf("updated"));
      assert.ok(written > kinds.indexOf("retried"), `written to the shop after the retry: ${kinds}`);
      await shot("lineage-synced");
    },
  );

  step(
    "shows the stock flow's runs, and a run with the records it touched",
    () => page,
    async () => {
      await page.goto(`${base}/#/runs/stock`);
      const runs = page.getByTestId("runs");
      await runs.getByText("partial").first().waitFor();
      await shot("runs-stock");
      await runs.getByRole("row").filter({ hasText: "partial" }).first().getByRole("link").first().click();
      await page.getByRole("heading", { name: "Records this run touched" }).waitFor();
      await page.getByText('no active Shopify location is named "Main Warehous"').first().waitFor();
    },
  );

  step(
    "previews the corrected mapping on a live record before it goes into passerelle.yaml",
    () => page,
    async () => {
      const [open] = (
        (await (await api("/api/v1/failures?flow=stock")).json()) as {
          failures: { sourceId: string }[];
        }
      ).failures;
      assert.ok(open, "stock levels the bad mapping failed are still open");
      await page.getByRole("link", { name: "Mapping preview" }).click();
      await page.getByLabel("flow").selectOption("stock");
      await page.getByLabel("source id").fill(open.sourceId);
      const draft = page.getByLabel("draft mapping");
      // A draft whose JSONata does not compile: the API's 400, naming the field, on the page.
      await draft.fill('{ "location": { "expr": "$uppercase(" } }');
      await page.getByRole("button", { name: "Preview" }).click();
      await page.getByRole("alert").filter({ hasText: "400 mapping.location" }).waitFor();
      await draft.fill(
        '{ "location": { "from": "location", "map": { "WH": "Main Warehouse", "WH2": "East Warehouse" } } }',
      );
      await page.getByRole("button", { name: "Preview" }).click();
      const result = page.getByTestId("preview-result");
      await result.getByText("Plan:").waitFor();
      assert.match((await result.locator("h3").first().textContent()) ?? "", /Plan: (create|update)/);
      assert.equal(await result.locator(".error").count(), 0, "no problems with the corrected mapping");
      await result.getByText('"location": "Main Warehouse"').waitFor();
      await shot("mapping-preview");
    },
  );

  step(
    "a credential that stopped working shows on the connection's health check",
    () => page,
    async () => {
      await page.getByRole("link", { name: "Connections" }).click();
      const table = page.getByTestId("connections");
      await table.waitFor();
      world.systems.odoo.changePassword("rotated-elsewhere");
      const odoo = table
        .getByRole("row")
        .filter({ has: page.getByRole("cell", { name: "odoo", exact: true }) });
      await odoo.getByRole("button", { name: "Check" }).click();
      await odoo.getByText("failing").waitFor();
      await table
        .getByText(/Shopify Admin GraphQL API \d{4}-\d{2}, supported until \d{4}-\d{2}-\d{2}/)
        .waitFor();
      await shot("connections-failing");
    },
  );
});

describe("a two-way conflict in the dashboard: both versions side by side, one taken", {
  skip: missing ?? false,
}, () => {
  let a: OdooEmulator;
  let b: OdooEmulator;
  let dir = "";
  let env: NodeJS.ProcessEnv = {};
  let run: LongRunning;
  let browser: Browser;
  let page: Page;
  let base = "";
  let email = "";

  const partnerId = (emu: OdooEmulator) => {
    const [id] = emu.data.search("res.partner", [
      ["email", "=", email],
      ["parent_id", "=", false],
    ]);
    assert.ok(id, `${email} is not in ${emu.url}`);
    return id;
  };

  before(async () => {
    a = await startOdooEmulator({ products: 2, customers: 3, orders: 0, seed: 11 });
    b = await startOdooEmulator({ products: 2, customers: 0, orders: 0, seed: 11 });
    dir = mkdtempSync(join(tmpdir(), "passerelle-e2e-conflict-"));
    const conn = (e: OdooEmulator) =>
      `{ type: odoo, url: "${e.url}", db: "${e.db}", username: "${e.login}", password: "${e.password}" }`;
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      [
        "version: 1",
        `store: { url: "sqlite:${join(dir, "s.db")}" }`,
        "connections:",
        `  erp-a: ${conn(a)}`,
        `  erp-b: ${conn(b)}`,
        "flows:",
        "  people:",
        "    source: { connection: erp-a, entity: customer }",
        "    target: { connection: erp-b, entity: customer }",
        "    direction: two-way",
        "    twoWay: { conflict: merge }",
        "",
      ].join("\n"),
    );
    env = { ...process.env, PASSERELLE_CONFIG: config };
    delete env.PASSERELLE_DEBUG;
    const first = await spawnCli(["sync", "people"], env);
    assert.equal(first.code, 0, explain(first));
    email = String(
      a.data.read("res.partner", a.data.search("res.partner", [["email", "!=", false]]), ["email"])[0]?.email,
    );
    // Odoo stamps to the microsecond but reads to the second: let the second of the first writes pass.
    await new Promise((r) => setTimeout(r, 1100));
    a.data.write("res.partner", [partnerId(a)], { phone: "+33 1 11 11 11 11" });
    b.data.write("res.partner", [partnerId(b)], { phone: "+33 1 22 22 22 22" });
    const second = await spawnCli(["sync", "people"], env);
    assert.match(second.stdout + second.stderr, /held|conflict|failed/, explain(second));

    run = startCli(["run", "--port", "0", "--no-auth-on-loopback"], env);
    base = (await run.waitFor("stderr", /Listening on (http:\/\/127\.0\.0\.1:\d+)/))[1] ?? "";
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    if (run) {
      const res = await run.stop();
      assert.equal(res.code, 0, explain(res));
    }
    await a?.close();
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  step(
    "shows both versions with the fields in conflict, and takes the ERP B's",
    () => page,
    async () => {
      await page.goto(`${base}/#/failures`);
      const row = page.getByTestId("failures").getByRole("row").filter({ hasText: "conflict" });
      await row.first().getByRole("link").first().click();
      const conflict = page.getByTestId("conflict");
      await conflict.waitFor();
      const phoneRow = conflict
        .locator("tr.conflict-field")
        .filter({ has: page.getByRole("cell", { name: "phone", exact: true }) });
      await phoneRow.getByText('"+33 1 11 11 11 11"').waitFor();
      await phoneRow.getByText('"+33 1 22 22 22 22"').waitFor();
      await screenshot(page, "conflict");
      await conflict.getByRole("button", { name: "Take erp-b" }).click();
      await page.getByTestId("action-result").getByText("Resolved: written to erp-a").waitFor();
      assert.equal(a.data.read("res.partner", [partnerId(a)], ["phone"])[0]?.phone, "+33 1 22 22 22 22");
      await page.locator(".badge-resolved").first().waitFor();
      assert.ok(
        await conflict.getByRole("button", { name: "Take erp-b" }).isDisabled(),
        "a resolved conflict cannot be taken again",
      );
    },
  );
});
