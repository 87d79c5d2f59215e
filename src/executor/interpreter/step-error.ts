/**
 * A step that failed, with the status the client gets: 4xx for what the
 * client sent, 502 for a node's failure, 504 for a deadline. The executor's
 * own answer carries it in the graph error shape.
 */
export class StepError extends Error {
  override name = 'StepError';
  readonly status: number;
  readonly node: string;

  constructor(status: number, node: string, reason: string) {
    super(reason);
    this.status = status;
    this.node = node;
  }
}

const EXCERPT_BYTES = 200;

/** The start of a body, printable, for error reasons. */
export function excerpt(body: Buffer): string {
  const text = body.subarray(0, EXCERPT_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
  return body.length > EXCERPT_BYTES ? `${text}…` : text;
}
