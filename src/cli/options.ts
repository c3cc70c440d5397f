/**
 * Parsers of numeric command-line options, shared by every command so one flag is judged alike everywhere.
 * Commander prints the error with the command's usage; `main` exits 2.
 */
import { InvalidArgumentError } from "commander";

/**
 * A whole number written in decimal digits only, from `min` to `max`. `Number()` alone would take "",
 * " 12", "1e3" and "0x10" as numbers, so the text is checked first.
 */
function wholeNumber(flag: string, min: number, max: number, expected: string): (value: string) => number {
  return (value) => {
    const n = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be ${expected}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** An option that must be a whole number above zero (a count, a limit). */
export function positiveInt(flag: string): (value: string) => number {
  return wholeNumber(flag, 1, Number.MAX_SAFE_INTEGER, "a whole number above 0");
}

/** A TCP port; 0 asks the system for any free one. */
export function portNumber(flag = "--port"): (value: string) => number {
  return wholeNumber(flag, 0, 65535, "a whole number from 0 to 65535");
}
