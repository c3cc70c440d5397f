#!/usr/bin/env node
/**
 * Runs Vendure in this process (started as a child by vendure.mjs):
 *   node vendure-server.mjs serve <db file> <port>   the server, until SIGTERM
 *   node vendure-server.mjs seed <db file> <port>    populate a fresh database, prepare it, exit
 * Seeding also sets the default channel to EUR and creates the two stock locations the real suite uses.
 */
import { createRequire } from "node:module";
import { INITIAL_DATA, SUPERADMIN, vendureConfig } from "./vendure-config.mjs";

process.env.VENDURE_DISABLE_TELEMETRY = "true";
const require = createRequire(import.meta.url);
const [mode, dbFile, portText] = process.argv.slice(2);
const port = Number(portText);
if (!dbFile || !Number.isInteger(port) || (mode !== "serve" && mode !== "seed")) {
  console.error("usage: vendure-server.mjs serve|seed <db file> <port>");
  process.exit(2);
}

export const STOCK_LOCATIONS = ["Main Warehouse", "East Warehouse"];

async function admin(query, variables, token) {
  const res = await fetch(`http://127.0.0.1:${port}/admin-api`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(`Vendure seed: ${JSON.stringify(body.errors)}`);
  return { data: body.data, token: res.headers.get("vendure-auth-token") };
}

async function prepare() {
  const login = await admin(
    "mutation($u:String!,$p:String!){login(username:$u,password:$p){...on CurrentUser{id}}}",
    { u: SUPERADMIN.identifier, p: SUPERADMIN.password },
  );
  const token = login.token;
  const { data } = await admin("{activeChannel{id}}", {}, token);
  await admin(
    `mutation($id:ID!){updateChannel(input:{id:$id,defaultCurrencyCode:EUR,availableCurrencyCodes:[EUR]}){
      ...on Channel{id} ...on ErrorResult{message}}}`,
    { id: data.activeChannel.id },
    token,
  );
  for (const name of STOCK_LOCATIONS) {
    await admin("mutation($n:String!){createStockLocation(input:{name:$n}){id}}", { n: name }, token);
  }
}

const config = vendureConfig({ dbFile, port });
if (mode === "seed") {
  const { bootstrap } = require("@vendure/core");
  const { populate } = require("@vendure/core/cli/populate.js");
  const app = await populate(() => bootstrap(config), INITIAL_DATA);
  await prepare();
  await app.close();
  process.exit(0);
} else {
  const { bootstrap } = require("@vendure/core");
  const app = await bootstrap(config);
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // A test runner that dies without stopping its Vendure must not leave it running: follow the parent.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 2000).unref();
}
