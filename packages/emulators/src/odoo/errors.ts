/** An exception the emulated server raises; serialised like Odoo's JSON-RPC "Odoo Server Error". */
export class OdooException extends Error {
  /** Python-qualified exception name, e.g. "odoo.exceptions.ValidationError". */
  readonly odooName: string;

  constructor(odooName: string, message: string) {
    super(message);
    this.odooName = odooName;
  }
}

export const accessDenied = (): OdooException =>
  new OdooException("odoo.exceptions.AccessDenied", "Access Denied");
export const validationError = (message: string): OdooException =>
  new OdooException("odoo.exceptions.ValidationError", message);
export const userError = (message: string): OdooException =>
  new OdooException("odoo.exceptions.UserError", message);
export const missingError = (message: string): OdooException =>
  new OdooException("odoo.exceptions.MissingError", message);
export const valueError = (message: string): OdooException =>
  new OdooException("builtins.ValueError", message);

/** The JSON-RPC error object Odoo returns (with HTTP 200) when a call raises. */
export function rpcErrorBody(err: OdooException): {
  code: number;
  message: string;
  data: { name: string; message: string; arguments: string[]; debug: string; context: Record<string, never> };
} {
  return {
    code: 200,
    message: "Odoo Server Error",
    data: {
      name: err.odooName,
      message: err.message,
      arguments: [err.message],
      debug: `Traceback (most recent call last):\n  ...\n${err.odooName}: ${err.message}\n`,
      context: {},
    },
  };
}
