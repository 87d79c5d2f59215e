import { EVENT_ID, getScalarValue, parseEvents, type Event } from 'js-yaml';
import type { Diagnostic } from './diagnostic.ts';
import { MAX_NESTING_DEPTH } from './limits.ts';
import { formatPath, type PathSegment } from './paths.ts';

/** js-yaml's word for a document that nests deeper than its maxDepth. */
const TOO_DEEP = /nesting exceeded maxDepth/;

interface Open {
  readonly segment: PathSegment | undefined;
  readonly mapping: boolean;
  /** The column the collection starts at: a line indented no further closes it. */
  readonly column: number;
  children: number;
  key?: string;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/**
 * The path to the line at `lineStart`: the collections open where the text
 * before it ends, less those the line's indentation closes, and the line's
 * own key. Approximate by nature (the text past that point does not parse),
 * and only a pointer for the user.
 */
function pathToLine(text: string, lineStart: number): PathSegment[] {
  let events: Event[];
  try {
    events = parseEvents(text.slice(0, lineStart), { maxDepth: MAX_NESTING_DEPTH });
  } catch {
    return [];
  }
  // The pops at the very end close what the cut left open.
  let end = events.length;
  while (end > 0 && events[end - 1]?.type === EVENT_ID.POP) end--;
  const open: Open[] = [];
  for (const event of events.slice(0, end)) {
    const parent = open.at(-1);
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        open.length = 0;
        continue;
      case EVENT_ID.POP:
        open.pop();
        continue;
      default:
        break;
    }
    if (parent?.mapping === true && parent.children % 2 === 0) {
      parent.key = event.type === EVENT_ID.SCALAR ? getScalarValue(text, event) : '?';
      parent.children++;
      continue;
    }
    const segment =
      parent === undefined ? undefined : parent.mapping ? parent.key : parent.children;
    if (parent) parent.children++;
    if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) {
      open.push({
        segment,
        mapping: event.type === EVENT_ID.MAPPING,
        column: columnOf(text, event.start),
        children: 0,
      });
    }
  }
  const line = text.slice(lineStart, text.indexOf('\n', lineStart) >>> 0);
  const indent = /^ */.exec(line)?.[0].length ?? 0;
  while (open.length > 1 && (open.at(-1)?.column ?? 0) > indent) open.pop();
  const path = open.flatMap((o) => (o.segment === undefined ? [] : [o.segment]));
  const key = /^ *([^\s:#{}[\],'"-][^:#]*?):(?:\s|$)/.exec(line)?.[1];
  return key !== undefined && open.at(-1)?.mapping === true ? [...path, key] : path;
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
    const path = pathToLine(text, lineStart);
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
