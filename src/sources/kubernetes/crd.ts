import { API_VERSION, GraphSpecBody, KIND } from '../../spec/schema.ts';
import { InferenceGraphStatus } from './status-schema.ts';
import { structuralSchema } from './structural-schema.ts';

export const GROUP = API_VERSION.split('/')[0] ?? '';
export const VERSION = API_VERSION.split('/')[1] ?? '';
export const PLURAL = 'inferencegraphs';
export const CRD_NAME = `${PLURAL}.${GROUP}`;
/** The label that puts a graph in a node group (the Envoys whose node.cluster it is). */
export const GROUP_LABEL = `${GROUP}/group`;

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;

/**
 * The InferenceGraph CustomResourceDefinition: its schema is the spec's
 * own (src/spec/schema.ts) in structural form, so nothing is declared
 * twice. `npm run generate:crd` writes it into the chart; a unit test fails
 * when the chart's copy differs.
 */
export function inferenceGraphCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        plural: PLURAL,
        singular: 'inferencegraph',
        kind: KIND,
        listKind: `${KIND}List`,
        // KServe's InferenceGraph also answers to "ig": inferencegraphs.switchyard.io is ours.
        shortNames: ['ig'],
        categories: ['switchyard'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Accepted', type: 'string', jsonPath: condition('Accepted') },
            { name: 'Programmed', type: 'string', jsonPath: condition('Programmed') },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'URL', type: 'string', jsonPath: '.status.url' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'An ML inference graph Switchyard serves on Envoy: nodes (models, splitters, switches, mirrors, transformers, sequences, ensembles, routers, nested graphs) and how requests flow through them.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structuralSchema(GraphSpecBody),
                status: structuralSchema(InferenceGraphStatus),
              },
            },
          },
        },
      ],
    },
  };
}
