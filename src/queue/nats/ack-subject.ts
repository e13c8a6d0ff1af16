/**
 * What JetStream's ack subject of a delivered message says: the stream sequence and how many
 * times the message has been delivered. Two layouts exist (with and without domain and account
 * hash); both are read.
 */
export interface Delivery {
  streamSeq: number;
  deliveryCount: number;
}

export function parseAckSubject(subject: string): Delivery | undefined {
  const tokens = subject.split(".");
  if (tokens[0] !== "$JS" || tokens[1] !== "ACK") return undefined;
  // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
  // v2: $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>]
  const offset = tokens.length === 9 ? 2 : tokens.length >= 11 ? 4 : -1;
  if (offset < 0) return undefined;
  const deliveryCount = Number(tokens[offset + 2]);
  const streamSeq = Number(tokens[offset + 3]);
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSeq) || streamSeq < 1) return undefined;
  return { streamSeq, deliveryCount };
}
