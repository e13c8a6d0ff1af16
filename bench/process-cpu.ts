/** CPU time of another process (a gateway, a worker), for charging a round's CPU to its calls. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** USER_HZ, the unit of /proc CPU times (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds a process has used so far, all threads (Linux /proc: utime + stime), or NaN where there is no /proc. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the parenthesised command name (which may itself hold ") "): utime and stime are fields 12 and 13.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
