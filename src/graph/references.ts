import type { NodeSpec } from '../spec/schema.ts';
import type { PathSegment } from '../spec/paths.ts';
import type { NodeModel } from './model.ts';

/** A node's references to other nodes of the same graph, each with where it is written. */
export interface Reference {
  readonly target: string;
  readonly path: readonly PathSegment[];
}

/** The same for a node as written and as modelled: references are not durations. */
export function referencesOf(name: string, node: NodeSpec | NodeModel): Reference[] {
  const at: PathSegment[] = ['spec', 'nodes', name];
  const ref = (target: string, ...rest: PathSegment[]): Reference => ({
    target,
    path: [...at, ...rest],
  });
  switch (node.kind) {
    case 'model':
    case 'combiner':
    case 'graph':
      return [];
    case 'transformer':
    case 'output-transformer':
      return [ref(node.to, 'to')];
    case 'router':
      return [
        ...node.children.map((child, i) => ref(child, 'children', i)),
        ...(node.then === undefined ? [] : [ref(node.then, 'then')]),
      ];
    case 'splitter':
      return node.routes.map((route, i) => ref(route.to, 'routes', i, 'to'));
    case 'switch':
      return [
        ...node.cases.map((c, i) => ref(c.to, 'cases', i, 'to')),
        ...(node.default === undefined ? [] : [ref(node.default, 'default')]),
      ];
    case 'mirror':
      return [ref(node.to, 'to'), ref(node.shadow, 'shadow')];
    case 'sequence':
      return node.steps.map((step, i) => ref(step.node, 'steps', i, 'node'));
    case 'ensemble':
      return [
        ...node.children.map((child, i) => ref(child, 'children', i)),
        ...(node.combiner === undefined ? [] : [ref(node.combiner, 'combiner')]),
        ...(node.then === undefined ? [] : [ref(node.then, 'then')]),
      ];
  }
}
