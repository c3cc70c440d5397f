/**
 * Signed document links: a link opens only the document it was made for, until it expires; every altered
 * part is refused with what is wrong; the route serves the connection's PDF as a download and never says
 * what the ERP said when it failed (that goes to the log).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SyncError } from "../core/errors.ts";
import { newFastify } from "./app.ts";
import { checkDocumentLink, documentLink, registerDocumentLinks } from "./document-links.ts";

const SECRET = "k3y-for-links-0123456789abcdefghijklmnop";
const settings = { secret: SECRET, publicUrl: "https://sync.example.com/" };
const NOW = new Date("2026-12-04T10:00:00Z");
const LATER = new Date("2026-12-11T10:00:00Z");
const REF = "erp:stock.shipment.out/7";
const PDF = Buffer.from("%PDF-1.7\n% a delivery note\n%%EOF\n");

function parts(url: string) {
  const u = new URL(url);
  return {
    connection: decodeURIComponent(u.pathname.replace(/^\/documents\//, "")),
    ref: u.searchParams.get("ref") ?? undefined,
    expires: u.searchParams.get("expires") ?? undefined,
    sig: u.searchParams.get("sig") ?? undefined,
  };
}

describe("document links", () => {
  test("a link names the connection, the ref and the expiry, and opens until then", () => {
    const url = documentLink(settings, "erp", REF, LATER);
    assert.match(
      url,
      /^https:\/\/sync\.example\.com\/documents\/erp\?ref=erp%3Astock\.shipment\.out%2F7&expires=\d+&sig=[\w-]{43}$/,
    );
    const p = parts(url);
    assert.equal(p.ref, REF);
    assert.equal(Number(p.expires), LATER.getTime() / 1000);
    assert.deepEqual(checkDocumentLink(SECRET, p, NOW), { ok: true });
    assert.ok(!url.includes(SECRET));
  });

  test("each altered part is refused, saying which", () => {
    const p = parts(documentLink(settings, "erp", REF, LATER));
    const refused = (link: Parameters<typeof checkDocumentLink>[1], secret = SECRET) => {
      const r = checkDocumentLink(secret, link, NOW);
      assert.equal(r.ok, false);
      return r as { ok: false; status: number; reason: string };
    };
    for (const altered of [
      { ...p, ref: "erp:stock.shipment.out/8" },
      { ...p, connection: "erp2" },
      { ...p, expires: String(Number(p.expires) + 86_400) },
    ]) {
      const r = refused(altered);
      assert.equal(r.status, 403);
      assert.match(r.reason, /signature does not match/);
    }
    assert.equal(refused(p, `${SECRET}-rotated`).status, 403, "a new secret revokes old links");
    assert.equal(refused({ ...p, sig: undefined }).status, 403);
    assert.match(refused({ ...p, sig: "short" }).reason, /missing or malformed/);
    assert.deepEqual(
      [refused({ ...p, ref: undefined }).status, refused({ ...p, ref: undefined }).reason],
      [400, "the link has no ref"],
    );
    assert.match(refused({ ...p, expires: "soon" }).reason, /expires is not a time: "soon"/);
  });

  test("past its expiry a link is gone (410), saying when it expired", () => {
    const p = parts(documentLink(settings, "erp", REF, LATER));
    const r = checkDocumentLink(SECRET, p, new Date(LATER.getTime() + 1000));
    assert.deepEqual(r, { ok: false, status: 410, reason: "the link expired at 2026-12-11T10:00:00.000Z" });
  });

  test("the route: the PDF as a download; unknown connection 404; the ERP's failure logged, not shown", async () => {
    const logged: { obj: object; msg: string }[] = [];
    const logger = {
      info: (obj: object, msg: string) => logged.push({ obj, msg }),
      warn: (obj: object, msg: string) => logged.push({ obj, msg }),
    };
    const app = newFastify({});
    registerDocumentLinks(app, {
      secret: SECRET,
      now: () => NOW,
      logger,
      fetch(connection, ref) {
        if (connection !== "erp") return null;
        if (ref.endsWith("/9"))
          return Promise.reject(
            new SyncError("config", "Tryton rendered stock.shipment.out 9 as odt, not as a PDF"),
          );
        return Promise.resolve({
          mimeType: "application/pdf",
          fileName: "Delivery Note CS7.pdf",
          bytes: PDF,
        });
      },
    });
    const path = (url: string) => url.slice("https://sync.example.com".length);

    const ok = await app.inject({ method: "GET", url: path(documentLink(settings, "erp", REF, LATER)) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.headers["content-type"], "application/pdf");
    assert.equal(ok.headers["content-disposition"], 'attachment; filename="Delivery-Note-CS7.pdf"');
    assert.equal(ok.headers["cache-control"], "private, no-store");
    assert.deepEqual(ok.rawPayload, PDF);

    const tampered = await app.inject({
      method: "GET",
      url: path(documentLink(settings, "erp", REF, LATER)).replace("%2F7", "%2F8"),
    });
    assert.equal(tampered.statusCode, 403);
    assert.match(tampered.json().error, /signature does not match/);

    const none = await app.inject({ method: "GET", url: path(documentLink(settings, "shop", REF, LATER)) });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().error, 'connection "shop" serves no documents');

    const broken = await app.inject({
      method: "GET",
      url: path(documentLink(settings, "erp", "erp:stock.shipment.out/9", LATER)),
    });
    assert.equal(broken.statusCode, 502);
    assert.equal(broken.json().error, 'the system behind "erp" could not render this document now');
    assert.doesNotMatch(broken.body, /odt|Tryton/);
    const warned = logged.find((l) => l.msg.includes("could not render"));
    assert.match(JSON.stringify(warned?.obj), /as odt, not as a PDF/);
    assert.ok(!JSON.stringify(logged).includes(SECRET));
    await app.close();
  });
});
