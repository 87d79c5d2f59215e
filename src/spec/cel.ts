import { Environment } from '@marcbachmann/cel-js';

/**
 * The CEL environment of a condition: `body` is the payload read as JSON
 * (numbers are doubles), `headers` and `query` the request's, as maps of
 * strings (header names lowercased). The library and its choice:
 * docs/decisions/0036-conditions-in-cel.md.
 */
const environment = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 64 } })
  .registerVariable('body', 'dyn')
  .registerVariable('headers', 'map<string, string>')
  .registerVariable('query', 'map<string, string>');

/**
 * What a condition's expression is evaluated against. `body` may be a
 * getter, read only when the expression uses it; one that throws (a payload
 * that is not JSON) makes the condition false, like any evaluation error.
 */
export interface CelInput {
  readonly body: unknown;
  readonly headers: ReadonlyMap<string, string>;
  readonly query: ReadonlyMap<string, string>;
}

/** A compiled condition: true when the expression evaluates to true, false on anything else. */
export type CelProgram = (input: CelInput) => boolean;

/** The first line of a CEL error: the rest is a picture of the expression with a caret. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Parses and type-checks `expression`: its program, or the parser's or
 * checker's message. Never throws on user input.
 */
export function compileCel(expression: string): { program: CelProgram } | { error: string } {
  let evaluate: (context: CelInput) => unknown;
  try {
    const checked = environment.check(expression);
    if (!checked.valid) return { error: firstLine(checked.error) };
    const type = String(checked.type);
    if (type !== 'bool' && type !== 'dyn') {
      return { error: `the expression is of type ${type}; a condition must be a bool` };
    }
    evaluate = environment.parse(expression) as (context: CelInput) => unknown;
  } catch (error) {
    return { error: firstLine(error) };
  }
  return {
    program: (input) => {
      try {
        return evaluate(input) === true;
      } catch {
        // A missing key, an index out of range, a value of another type: the condition does not hold.
        return false;
      }
    },
  };
}
