/**
 * One process of the governor test (test/e2e/governor.test.ts): opens the store at argv[2], governs
 * connection "odoo" at argv[4] requests a second through it (as `governor:` in passerelle.yaml does), and
 * sends Odoo's `common.version` call to argv[3] through the shared HTTP client as fast as it is let, for
 * argv[5] ms. Prints the statuses it got as JSON.
 */
import { createHttpClient } from "../../src/connectors/http/client.ts";
import { setSharedGovernor, slotGovernor } from "../../src/connectors/http/governor.ts";
import { openStore } from "../../src/store/index.ts";

const [storeUrl, odooUrl, perSecond, durationMs] = process.argv.slice(2);
const store = await openStore(String(storeUrl));
setSharedGovernor(
  "odoo",
  slotGovernor((key, ms) => store.reserveRateSlot(key, ms), "odoo", Number(perSecond)),
);
const http = createHttpClient({
  system: "odoo",
  vendor: "Odoo",
  baseUrl: String(odooUrl),
  timeoutMs: 10_000,
});
const statuses: Record<string, number> = {};
const end = Date.now() + Number(durationMs);
while (Date.now() < end) {
  const res = await http.send("POST", "/jsonrpc", {
    body: {
      jsonrpc: "2.0",
      method: "call",
      id: 1,
      params: { service: "common", method: "version", args: [] },
    },
    accept: () => true,
  });
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
}
await store.close();
process.stdout.write(JSON.stringify(statuses));
