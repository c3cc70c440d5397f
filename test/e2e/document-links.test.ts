/**
 * Signed document links through the real CLI and server: an operator asks `passerelle document --link` for
 * a link to a posted invoice of the emulated Odoo, a shopper opens it from `passerelle run` without a token
 * and gets the PDF; the same link with another invoice's id is refused; the link secret appears nowhere in
 * what the CLI or the server print. Without `server.documentLinks`, `--link` says what to configure and
 * the server has no /documents route.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { closedPort } from "../helpers/net.ts";
import { explain, json, leakedSecrets, startWorld, type World } from "./helpers.ts";
import { type LongRunning, startCli } from "./long-running.ts";

const LINK_SECRET = "link-secret-e2e-7f3a9c2b5d1e8f4a6b0c";

describe("signed document links, on a running passerelle run", () => {
  let world: World;
  let run: LongRunning;
  let base = "";
  let ref = "";
  let otherRef = "";

  before(async () => {
    world = await startWorld({ products: 2, erpSales: 4 });
    const port = await closedPort();
    base = `http://127.0.0.1:${port}`;
    world.writeConfig("passerelle.yaml", (doc) => {
      doc.setIn(
        ["server", "documentLinks"],
        doc.createNode({ secret: "${env:PASSERELLE_LINK_SECRET}", publicUrl: base, days: 7 }),
      );
    });
    world.env.PASSERELLE_LINK_SECRET = LINK_SECRET;
    const odoo = world.systems.odoo;
    const invoices = odoo.data.search("account.move", [
      ["move_type", "=", "out_invoice"],
      ["state", "=", "posted"],
    ]);
    assert.ok(invoices.length >= 2, `the emulator seeds posted invoices: ${invoices}`);
    // The ref the Odoo invoice stream puts on a canonical invoice (src/connectors/odoo/streams/invoice.ts).
    ref = `${odoo.url}/report/pdf/account.report_invoice/${invoices[0]}`;
    otherRef = `${odoo.url}/report/pdf/account.report_invoice/${invoices[1]}`;
    run = startCli(["run", "--port", String(port)], world.env);
    await run.waitFor("stderr", /Listening on http:\/\/127\.0\.0\.1:\d+/);
  });

  after(async () => {
    if (run) {
      const res = await run.stop();
      assert.equal(res.code, 0, explain(res));
      assert.deepEqual(leakedSecrets(res.stdout + res.stderr, [LINK_SECRET, ...world.secrets]), []);
    }
    await world?.close();
  });

  it("a link made by the CLI opens the invoice's PDF without a token, as a download", async () => {
    const made = await world.cli(["document", "odoo", ref, "--link", "--json"]);
    assert.equal(made.code, 0, explain(made));
    assert.deepEqual(leakedSecrets(made.stdout + made.stderr, [LINK_SECRET]), []);
    const link = json(made) as { url: string; expiresAt: string; ref: string };
    assert.equal(link.ref, ref);
    assert.ok(link.url.startsWith(`${base}/documents/odoo?`), link.url);
    const days = (Date.parse(link.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `server.documentLinks.days: 7, got ${days}`);

    const res = await fetch(link.url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("content-type"), "application/pdf");
    assert.match(res.headers.get("content-disposition") ?? "", /^attachment; filename=".+\.pdf"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-");
  });

  it("the link with another invoice's ref is refused; --days is checked", async () => {
    const made = await world.cli(["document", "odoo", ref, "--link", "--days", "1", "--json"]);
    assert.equal(made.code, 0, explain(made));
    const url = (json(made) as { url: string }).url;
    const swapped = new URL(url);
    swapped.searchParams.set("ref", otherRef);
    const res = await fetch(swapped);
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: string }).error, /signature does not match/);

    const bad = await world.cli(["document", "odoo", ref, "--link", "--days", "0"]);
    assert.equal(bad.code, 2, explain(bad));
    assert.match(bad.stderr, /--days must be a whole number of days from 1 to 3660, got "0"/);
  });

  it("without server.documentLinks, --link names the setting to add", async () => {
    const plain = world.writeConfig("plain.yaml");
    const res = await world.cli(["document", "odoo", ref, "--link"], {
      env: { PASSERELLE_CONFIG: plain },
    });
    assert.equal(res.code, 2, explain(res));
    assert.match(res.stderr, /--link needs server\.documentLinks \(secret, publicUrl\)/);
  });
});
