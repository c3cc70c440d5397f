/**
 * Whether the webhook server can be reached from other machines without TLS. Deliveries carry order and
 * customer data and their signatures; over plain HTTP on a network address anyone on the path reads them.
 */
import { BlockList, isIP } from "node:net";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
// Also matches the IPv4-mapped forms (::ffff:127.0.0.1) through the IPv4 rule.
LOOPBACK.addAddress("::1", "ipv6");

/** True for an address only this machine can reach: 127.0.0.0/8, ::1 (any spelling), `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase();
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, "ipv4");
  if (family === 6) return LOOPBACK.check(h, "ipv6");
  return false;
}

/** What a listener serves: the `passerelle run` server (webhooks, API), or a worker's /metrics. */
export type Serving = "webhooks" | "metrics";

/**
 * The warning for a server listening on `host` (as configured) bound to `bound` (the address the socket
 * got: a host name resolves to one), or null when TLS is on or only this machine can connect.
 */
export function plainHttpWarning(
  host: string,
  bound: string,
  port: number,
  tls: boolean,
  serving: Serving = "webhooks",
): string | null {
  if (tls || isLoopback(bound)) return null;
  const at = host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
  const every = bound === "0.0.0.0" || bound === "::" ? ", every network interface" : "";
  if (serving === "metrics") {
    return (
      `serving /metrics over plain HTTP on ${at}${every}, which is not a loopback address: the bearer ` +
      "token of every scrape crosses the network unencrypted. Set server.tls: { cert, key } in the " +
      "configuration, or listen on 127.0.0.1 (server.metrics.host or --metrics-host) behind a reverse " +
      "proxy that terminates TLS."
    );
  }
  return (
    `serving webhooks over plain HTTP on ${at}${every}, which is not a loopback address: deliveries and ` +
    "their order data cross the network unencrypted. Set server.tls: { cert, key } in the configuration, " +
    "or listen on 127.0.0.1 (server.host or --host) behind a reverse proxy that terminates TLS."
  );
}
