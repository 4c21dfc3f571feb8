/**
 * The dependency map, enforced by `npm run lint` (docs/ARCHITECTURE.md explains it).
 *
 * Layers, lowest first: a file imports only from its own layer and the layers before it in this
 * list, at any folder depth; type-only imports count. bench/ and test/ stand above them all, but
 * bench/ reaches ops/ only through ops/index.ts. No import cycles between files or between folders.
 */
export const LAYERS = ['domain', 'infra', 'projections', 'services', 'processes', 'gateway', 'ops'];

const OUTSIDE_THE_LAYERS = ['bench', 'test'];

const alternatives = (names) => `^(${names.join('|')})/`;

const layerRules = LAYERS.map((layer, i) => ({
  name: `${layer}-imports-only-below`,
  comment: `${layer}/ imports ${LAYERS.slice(0, i + 1).join(', ')} only`,
  severity: 'error',
  from: { path: `^${layer}/` },
  to: { path: alternatives([...LAYERS.slice(i + 1), ...OUTSIDE_THE_LAYERS]) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: 'domain-is-pure',
      comment: 'domain/ does no I/O: no Node.js built-ins; zod is its one package',
      severity: 'error',
      from: { path: '^domain/' },
      to: { dependencyTypesNot: ['local'], pathNot: '(^|/)node_modules/zod/' },
    },
    {
      name: 'bench-uses-the-ops-entry',
      comment: 'bench/ reaches ops/ through its public entry ops/index.ts only',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^ops/', pathNot: '^ops/index[.]ts$' },
    },
    {
      name: 'no-file-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'resolvable',
      comment: 'an import that resolves to nothing would escape every other rule',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules' },
    exclude: { path: '^(dist|data|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
