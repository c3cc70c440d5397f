/** `passerelle tokens create | list | revoke`: bearer tokens of the management API (server/api/auth.ts). */
import type { Command } from "commander";
import { SyncError } from "../../core/errors.ts";
import { ROLES, type Role } from "../../ports/access.ts";
import type { Context } from "../../runtime/context.ts";
import { createToken } from "../../server/api/auth.ts";
import { EXIT, type Output, table } from "../output.ts";

export async function createTokenCommand(
  ctx: Context,
  out: Output,
  opts: { role: string; name?: string },
): Promise<number> {
  if (!ROLES.includes(opts.role as Role)) {
    throw new SyncError(
      "config",
      `--role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(opts.role)}`,
    );
  }
  const name = opts.name ?? `${opts.role}-${new Date().toISOString().slice(0, 19)}`;
  const access = ctx.store.access();
  const { token, info } = await createToken(access, { name, role: opts.role as Role });
  await access.audit({
    tokenId: null,
    actor: "cli",
    role: null,
    action: "tokens.create",
    target: `token ${info.id} ${JSON.stringify(info.name)} (${info.role})`,
    outcome: "ok",
  });
  // As `bearer`: a key named like "token" is blanked by the output's secret redaction, on purpose.
  out.result({ bearer: token, ...info }, () =>
    [
      `Token ${info.id} "${info.name}" (${info.role}) created. It is shown this once; only its hash is stored:`,
      token,
      "Use it as: Authorization: Bearer <token>",
    ].join("\n"),
  );
  return EXIT.ok;
}

export async function listTokensCommand(ctx: Context, out: Output): Promise<number> {
  const tokens = await ctx.store.access().listTokens();
  out.result(tokens, () =>
    tokens.length === 0
      ? "No tokens (passerelle tokens create --role viewer|operator|admin)."
      : table([
          ["ID", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"],
          ...tokens.map((t) => [
            String(t.id),
            t.name,
            t.role,
            t.createdAt,
            t.lastUsedAt ?? "-",
            t.revokedAt ?? "-",
          ]),
        ]),
  );
  return EXIT.ok;
}

export async function revokeTokenCommand(ctx: Context, out: Output, idOrName: string): Promise<number> {
  const access = ctx.store.access();
  const revoked = await access.revokeToken(idOrName);
  if (revoked.length === 0) {
    throw new SyncError(
      "config",
      `no live token with id or name ${JSON.stringify(idOrName)} (see: passerelle tokens list)`,
    );
  }
  for (const t of revoked) {
    await access.audit({
      tokenId: null,
      actor: "cli",
      role: null,
      action: "tokens.revoke",
      target: `token ${t.id} ${JSON.stringify(t.name)}`,
      outcome: "ok",
    });
  }
  out.result(revoked, () => revoked.map((t) => `token ${t.id} "${t.name}" revoked`).join("\n"));
  return EXIT.ok;
}

export function registerTokenCommands(
  program: Command,
  withContext: (cmd: Command, body: (ctx: Context, out: Output) => Promise<number>) => Promise<void>,
): void {
  const tokens = program.command("tokens").description("bearer tokens of the management API (/api/v1)");
  tokens
    .command("create")
    .description("create a token and print it once (only its hash is stored)")
    .requiredOption(
      "--role <role>",
      "viewer (read), operator (+ act on failures, runs, previews) or admin (+ tokens, audit)",
    )
    .option("--name <name>", "what the token is for (shown in the audit log)")
    .action(function (this: Command, opts: { role: string; name?: string }) {
      return withContext(this, (ctx, out) => createTokenCommand(ctx, out, opts));
    });
  tokens
    .command("list")
    .description("tokens with their role and last use (never the tokens themselves)")
    .action(function (this: Command) {
      return withContext(this, (ctx, out) => listTokensCommand(ctx, out));
    });
  tokens
    .command("revoke")
    .argument("<id-or-name>")
    .description("revoke a token: requests with it are refused from now on")
    .action(function (this: Command, idOrName: string) {
      return withContext(this, (ctx, out) => revokeTokenCommand(ctx, out, idOrName));
    });
}
