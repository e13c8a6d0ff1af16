/**
 * Operator log: one line per event on stderr, `time level message key=value…`.
 * Callers pass only metadata; never secrets, keys, tokens or request bodies.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const threshold: LogLevel = (process.env.TFAAS_LOG_LEVEL as LogLevel | undefined) ?? "info";

function write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (order[level] < order[threshold]) return;
  let line = `${new Date().toISOString()} ${level.padEnd(5)} ${message}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const text = value instanceof Error ? value.message : typeof value === "string" ? value : JSON.stringify(value);
    line += ` ${key}=${/\s/.test(text) ? JSON.stringify(text) : text}`;
  }
  process.stderr.write(line + "\n");
}

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write("debug", message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write("info", message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write("warn", message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write("error", message, fields),
};
