/**
 * `npm run bench [-- --json] [--seconds N] [--only a,b]`: runs the benchmark suites and prints
 * a table for people, or one JSON report for machines with --json. Every suite measures its
 * baseline in the same run and reports medians and ratios, because these machines are shared
 * and noisy.
 */
import os from "node:os";
import { suites } from "./suites/index.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const asJson = args.includes("--json");
const seconds = Number(flag("--seconds") ?? "5");
const only = flag("--only")?.split(",");
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${flag("--seconds")}`);
const unknown = only?.filter((name) => !suites.some((suite) => suite.name === name)) ?? [];
if (unknown.length > 0) throw new Error(`unknown suite(s) ${unknown.join(", ")}; suites: ${suites.map((s) => s.name).join(", ")}`);

const report: Record<string, unknown> = {};
for (const suite of suites.filter((s) => !only || only.includes(s.name))) {
  const progress = (line: string) => {
    if (!asJson) process.stderr.write(`[${suite.name}] ${line}\n`);
  };
  progress(suite.description);
  const result = await suite.run({ seconds, progress });
  report[suite.name] = result.json;
  if (!asJson) console.log([`## ${suite.name}: ${suite.description}`, ...result.table, ""].join("\n"));
}
if (asJson) {
  const machine = { cpus: os.availableParallelism(), node: process.version, date: new Date().toISOString() };
  process.stdout.write(JSON.stringify({ machine, suites: report }, null, 2) + "\n");
}
