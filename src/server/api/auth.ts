/**
 * Bearer tokens of the management API. A token is 256 random bits (`psr_` + base64url); the store keeps
 * only its SHA-256 digest, and a request's token is looked up by its digest: the caller controls the
 * token, not the digest, so how long the lookup takes tells nothing about any stored token.
 *
 * Roles are cumulative: a viewer reads; an operator also acts on failed records, previews mappings and
 * queues runs; an admin also manages tokens and reads the audit log.
 */
import { createHash, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { type AccessStore, type ApiToken, ROLES, type Role } from "../../ports/access.ts";

const TOKEN_PREFIX = "psr_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Creates a token; the raw token is returned once and never stored. */
export async function createToken(
  access: AccessStore,
  opts: { name: string; role: Role },
): Promise<{ token: string; info: ApiToken }> {
  if (!ROLES.includes(opts.role)) {
    throw new RangeError(`role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(opts.role)}`);
  }
  if (!opts.name.trim()) throw new RangeError("a token needs a name");
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  const info = await access.createToken({ name: opts.name, role: opts.role, hash: hashToken(token) });
  return { token, info };
}

export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith("127.");
  return a === "::1";
}

/** Who made a request: a token, or the loopback bypass (`--no-auth-on-loopback`). */
export interface Principal {
  tokenId: number | null;
  name: string;
  role: Role;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string };

export async function authenticate(
  access: AccessStore,
  header: string | undefined,
  remoteAddress: string | undefined,
  opts: { noAuthOnLoopback: boolean },
): Promise<AuthResult> {
  if (header === undefined || header === "") {
    if (opts.noAuthOnLoopback && isLoopbackAddress(remoteAddress)) {
      return {
        ok: true,
        principal: { tokenId: null, name: "loopback (--no-auth-on-loopback)", role: "admin" },
      };
    }
    return {
      ok: false,
      reason: "missing bearer token (Authorization: Bearer <token>; passerelle tokens create)",
    };
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) return { ok: false, reason: "Authorization header must be: Bearer <token>" };
  const token = await access.tokenByHash(hashToken(m[1]));
  if (!token) return { ok: false, reason: "unknown or revoked token" };
  return { ok: true, principal: { tokenId: token.id, name: token.name, role: token.role } };
}

/**
 * What the gate in front of an authenticated route decided. A 401 carries the header telling the client
 * how to authenticate; a 403 names who was refused (the API writes refused actions to the audit log).
 */
export type Admission =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401; reason: string; headers: Record<string, string> }
  | { ok: false; status: 403; reason: string; principal: Principal };

export interface AdmissionRequest {
  /** The Authorization header as received. */
  authorization: string | undefined;
  /** The peer's address (the socket's, not a forwarded header). */
  remoteAddress: string | undefined;
  /** The least role the route allows. */
  need: Role;
  /** How the refusal names what was asked for, e.g. `GET /metrics`. */
  what: string;
}

/**
 * The one gate of every listener that needs a token (the management API and /metrics of `passerelle run`,
 * the metrics listener of workers and schedulers): authenticate, then compare roles. A token's "last used"
 * is written at most once a minute per token, not once per request.
 */
export function admission(
  access: AccessStore,
  opts: { noAuthOnLoopback: boolean },
): (req: AdmissionRequest) => Promise<Admission> {
  const touched = new Map<number, number>();
  return async (req) => {
    const auth = await authenticate(access, req.authorization, req.remoteAddress, opts);
    if (!auth.ok) {
      return {
        ok: false,
        status: 401,
        reason: auth.reason,
        headers: { "www-authenticate": 'Bearer realm="passerelle"' },
      };
    }
    const id = auth.principal.tokenId;
    if (id !== null && Date.now() - (touched.get(id) ?? 0) > 60_000) {
      touched.set(id, Date.now());
      await access.touchToken(id);
    }
    if (!roleAllows(auth.principal.role, req.need)) {
      return {
        ok: false,
        status: 403,
        reason: `role ${auth.principal.role} may not ${req.what}; it needs ${req.need}`,
        principal: auth.principal,
      };
    }
    return { ok: true, principal: auth.principal };
  };
}
