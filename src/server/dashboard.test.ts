/**
 * The dashboard's files at `/` (registerDashboard): index.html and its assets from the built folder, the
 * server's own JSON 404 for any other path, and a clear 503 when the dashboard was never built.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Fastify from "fastify";
import { registerDashboard } from "./app.ts";

const dir = mkdtempSync(join(tmpdir(), "passerelle-web-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("serves index.html at / and its hashed assets; other paths are the server's 404", async () => {
  const web = join(dir, "web");
  mkdirSync(join(web, "assets"), { recursive: true });
  writeFileSync(join(web, "index.html"), "<!doctype html><div id=root></div>");
  writeFileSync(join(web, "assets", "index-abc.js"), "console.log(1)");
  const app = Fastify();
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: "no route" }));
  registerDashboard(app, web);
  const index = await app.inject({ method: "GET", url: "/" });
  assert.equal(index.statusCode, 200);
  assert.match(String(index.headers["content-type"]), /^text\/html/);
  assert.match(index.body, /id=root/);
  assert.equal(index.headers["cache-control"], "no-cache");
  const asset = await app.inject({ method: "GET", url: "/assets/index-abc.js" });
  assert.equal(asset.statusCode, 200);
  assert.match(String(asset.headers["cache-control"]), /immutable/);
  const other = await app.inject({ method: "GET", url: "/etc/passwd" });
  assert.equal(other.statusCode, 404);
  assert.deepEqual(other.json(), { error: "no route" });
  // Only the built files are routed: nothing beside them can be reached by climbing out of the folder.
  writeFileSync(join(dir, "secret.txt"), "not served");
  const up = await app.inject({ method: "GET", url: "/assets/..%2F..%2Fsecret.txt" });
  assert.equal(up.statusCode, 404);
  await app.close();
});

test("a dashboard that was never built: / answers 503 saying how to build it", async () => {
  const app = Fastify();
  registerDashboard(app, join(dir, "missing"));
  const res = await app.inject({ method: "GET", url: "/" });
  assert.equal(res.statusCode, 503);
  assert.match(res.json().error, /the dashboard is not built .*: run npm run build/);
  await app.close();
});
