/** What every benchmark suite provides to `npm run bench`. */
export interface BenchOptions {
  /** Seconds per measured round, where a suite measures by time. */
  seconds: number;
  /** Progress for people, on stderr (silent with --json). */
  progress(line: string): void;
}

export interface SuiteResult {
  /** Lines of a table for people. */
  table: string[];
  /** The same results for machines. */
  json: unknown;
}

export interface Suite {
  name: string;
  description: string;
  run(options: BenchOptions): Promise<SuiteResult>;
}
