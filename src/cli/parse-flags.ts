/** Parsers for commander options, failing with one clear line that names the flag. */
import { InvalidArgumentError } from "commander";

/** Collects a repeatable option's values in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseInteger(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got ${JSON.stringify(value)}`);
    const number = Number(value);
    if (number < min || number > max) throw new InvalidArgumentError(`expected ${min} to ${max}, got ${value}`);
    return number;
  };
}
