/** How a failure reaches the user: one line on stderr, `tfaas: <what failed>: <why>`. */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `tfaas: ${message.replace(/\s*\n\s*/g, " ")}\n`;
}
