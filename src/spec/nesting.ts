import { EVENT_ID, getScalarValue, parseEvents, type Event } from 'js-yaml';
import type { Diagnostic } from './diagnostic.ts';
import { MAX_NESTING_DEPTH } from './limits.ts';
import { formatPath, type PathSegment } from './paths.ts';

/** js-yaml's word for a document that nests deeper than its maxDepth. */
const TOO_DEEP = /nesting exceeded maxDepth/;

/** The path of the collections still open at the end of the events: where the text was cut. */
function openPath(events: readonly Event[], text: string): PathSegment[] {
  // Per open collection: its path segment, whether a mapping, and how many children so far.
  const open: {
    segment: PathSegment | undefined;
    mapping: boolean;
    children: number;
    key?: string;
  }[] = [];
  for (const event of events) {
    const parent = open.at(-1);
    if (event.type === EVENT_ID.POP) {
      open.pop();
      continue;
    }
    if (event.type === EVENT_ID.DOCUMENT) {
      open.length = 0;
      open.push({ segment: undefined, mapping: false, children: 0 });
      continue;
    }
    let segment: PathSegment | undefined;
    if (parent) {
      if (parent.mapping && parent.children % 2 === 0) {
        parent.key = event.type === EVENT_ID.SCALAR ? getScalarValue(text, event) : '?';
        parent.children++;
        continue;
      }
      segment = parent.mapping ? parent.key : parent.children;
      parent.children++;
    }
    if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) {
      open.push({ segment, mapping: event.type === EVENT_ID.MAPPING, children: 0 });
    }
  }
  return open.flatMap((o) => (o.segment === undefined ? [] : [o.segment]));
}

/**
 * A document nested deeper than MAX_NESTING_DEPTH, said as a problem, before
 * any reader that recurses through the nesting sees it: the exact reader
 * runs out of stack (or memory) on a few thousand levels. The path is where
 * the text still parses: the collections open at the start of the line the
 * limit is crossed on.
 */
export function nestingProblem(source: string, text: string): Diagnostic | undefined {
  try {
    parseEvents(text, { maxDepth: MAX_NESTING_DEPTH });
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (!TOO_DEEP.test(message)) return undefined;
    const mark = (error as { mark?: { line: number; column: number; position: number } }).mark;
    const lineStart = mark === undefined ? 0 : text.lastIndexOf('\n', mark.position - 1) + 1;
    let path: PathSegment[] = [];
    try {
      path = openPath(parseEvents(text.slice(0, lineStart), { maxDepth: MAX_NESTING_DEPTH }), text);
    } catch {
      // The text before that line does not parse alone: the problem is reported at the top.
    }
    const where =
      mark === undefined
        ? ''
        : ` (line ${String(mark.line + 1)}, column ${String(mark.column + 1)})`;
    return {
      code: 'limit-exceeded',
      source,
      path: formatPath(path),
      message: `the document nests lists and mappings more than ${String(MAX_NESTING_DEPTH)} levels deep${where}`,
      hint: 'a graph needs about ten levels; look for runaway brackets or indentation',
    };
  }
}
