import {
  CORE_SCHEMA,
  EVENT_ID,
  NOT_RESOLVED,
  SCALAR_STYLE,
  constructFromEvents,
  defineScalarTag,
  floatCoreTag,
  parseEvents,
  type Event,
} from 'js-yaml';
import { MAX_NESTING_DEPTH } from './limits.ts';

/**
 * A float too large for a double is infinity in YAML 1.2's core schema, as the
 * exact reader (parse.ts) reads it; js-yaml would keep it a string.
 */
const OVERFLOWING_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const schema = CORE_SCHEMA.withTags(
  defineScalarTag('tag:yaml.org,2002:float', {
    ...floatCoreTag,
    resolve: (source, isExplicit, tagName) => {
      const value = floatCoreTag.resolve(source, isExplicit, tagName);
      return value === NOT_RESOLVED && OVERFLOWING_FLOAT.test(source) ? Number(source) : value;
    },
  }),
);

/** The exact reader flags longer implicit keys, as YAML 1.2 asks. */
const LONGEST_KEY = 1024;

/**
 * Whether the events use only plain YAML: mappings with scalar keys,
 * sequences and scalars. Anchors, aliases, tags, directives and complex keys
 * are rare in graph files and where two YAML readers may differ: they are
 * left to the exact reader.
 */
function isPlain(events: readonly Event[], text: string): boolean {
  // Per open collection: is it a mapping, and how many children it has had.
  const open: { mapping: boolean; children: number }[] = [];
  for (const event of events) {
    const parent = open.at(-1);
    const isKey = parent?.mapping === true && parent.children % 2 === 0;
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (event.directives.length > 0) return false;
        open.push({ mapping: false, children: 0 });
        continue;
      case EVENT_ID.POP:
        open.pop();
        continue;
      case EVENT_ID.ALIAS:
        return false;
      case EVENT_ID.SCALAR:
        if (isKey && event.valueEnd - event.valueStart > LONGEST_KEY) return false;
        // A merge key ("<<") is the exact reader's to resolve.
        if (
          isKey &&
          event.style === SCALAR_STYLE.PLAIN &&
          text.startsWith('<<', event.valueStart) &&
          event.valueEnd - event.valueStart === 2
        ) {
          return false;
        }
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        if (isKey) return false;
        break;
    }
    if (event.anchorStart !== -1 || event.tagStart !== -1) return false;
    if (parent) parent.children++;
    if (event.type !== EVENT_ID.SCALAR) {
      open.push({ mapping: event.type === EVENT_ID.MAPPING, children: 0 });
    }
  }
  return true;
}

/**
 * The documents of a YAML text as plain data, about ten times faster than
 * the exact reader, or undefined for any text the exact reader must see:
 * one with a syntax error, a repeated key, or more than plain YAML. It gives
 * no positions and no diagnostics; a caller that finds a problem in what it
 * returns asks the exact reader again.
 */
export function quickDocumentValues(text: string): unknown[] | undefined {
  try {
    const events = parseEvents(text, { maxDepth: MAX_NESTING_DEPTH });
    if (!isPlain(events, text)) return undefined;
    return constructFromEvents(events, { source: text, schema });
  } catch {
    return undefined;
  }
}
