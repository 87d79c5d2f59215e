import { createHash } from 'node:crypto';

/**
 * The content address of a plan's JSON, which names it wherever it travels
 * by reference: a different plan never has the same name, so a request
 * that names one runs exactly that plan.
 */
export function planHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
