import type { Check } from "../shared/check.js";

export type { Check };

/** Collects checks; `run` turns a thrown error into a failed check so one bad input never hides the others. */
export class CheckList {
  readonly checks: Check[] = [];

  add(name: string, ok: boolean, detail: string): boolean {
    this.checks.push({ name, ok, detail });
    return ok;
  }

  run(name: string, step: () => { ok: boolean; detail: string }): boolean {
    try {
      const { ok, detail } = step();
      return this.add(name, ok, detail);
    } catch (error) {
      return this.add(name, false, error instanceof Error ? error.message : String(error));
    }
  }

  get ok(): boolean {
    return this.checks.length > 0 && this.checks.every((check) => check.ok);
  }
}
