import fc from 'fast-check';

/**
 * A fast-check arbitrary for the zod (v4) schemas the event catalog uses: objects, strings,
 * numbers, booleans, enums, literals, arrays, records, unions, nullable/optional and unknown,
 * honouring length, range, integer and regex checks. Whatever it generates is filtered through
 * the schema, so a check it does not know narrows the values instead of producing wrong ones.
 * A transform (zod type `pipe`) has no shape to generate from: `standIns` maps it to a schema
 * that describes what it accepts.
 */

interface CheckDef {
  check?: string;
  minimum?: number;
  maximum?: number;
  value?: number | bigint;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  keyType?: ZodLike;
  valueType?: ZodLike;
  innerType?: ZodLike;
  options?: ZodLike[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  checks?: { _zod: { def: CheckDef } }[];
}

interface ZodLike {
  _zod: { def: SchemaDef };
  safeParse(value: unknown): { success: boolean };
}

function checksOf(def: SchemaDef): CheckDef[] {
  return (def.checks ?? []).map((c) => c._zod.def);
}

function stringArbitrary(def: SchemaDef): fc.Arbitrary<string> {
  const checks = checksOf(def);
  const pattern = checks.find((c) => c.format === 'regex')?.pattern;
  if (pattern) return fc.stringMatching(pattern);
  const minLength = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
  const maxLength = checks.find((c) => c.check === 'max_length')?.maximum ?? minLength + 24;
  return fc.string({ unit: fc.oneof(fc.constantFrom('/', '~', '%', '"', '\\', '\n', '\u0000', ' '), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), minLength, maxLength });
}

function numberArbitrary(def: SchemaDef): fc.Arbitrary<number> {
  const checks = checksOf(def);
  const integer = checks.some((c) => c.check === 'number_format' && (c.format === 'safeint' || c.format === 'int32'));
  let min = -Number.MAX_SAFE_INTEGER;
  let max = Number.MAX_SAFE_INTEGER;
  for (const c of checks) {
    const bound = Number(c.value);
    if (c.check === 'greater_than') min = c.inclusive ? bound : bound + (integer ? 1 : Number.EPSILON);
    if (c.check === 'less_than') max = c.inclusive ? bound : bound - (integer ? 1 : Number.EPSILON);
  }
  const edges = fc.constantFrom(min, Math.min(max, min + 1), max).filter((n) => n >= min && n <= max);
  return integer
    ? fc.oneof(fc.integer({ min: Math.max(min, -1_000), max: Math.min(max, 1_000_000) }), fc.integer({ min, max }), edges)
    : fc.oneof(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), edges);
}

export function arbitraryOf(schema: unknown, standIns: ReadonlyMap<unknown, unknown> = new Map()): fc.Arbitrary<unknown> {
  const zod = schema as ZodLike;
  const def = zod._zod.def;
  const of = (inner: unknown): fc.Arbitrary<unknown> => arbitraryOf(inner, standIns);
  let arb: fc.Arbitrary<unknown>;
  switch (def.type) {
    case 'object': {
      const shape = def.shape ?? {};
      const required = Object.keys(shape).filter((k) => (shape[k] as ZodLike)._zod.def.type !== 'optional');
      arb = fc.record(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, of(v)])), { requiredKeys: required });
      break;
    }
    case 'string': arb = stringArbitrary(def); break;
    case 'number': arb = numberArbitrary(def); break;
    case 'boolean': arb = fc.boolean(); break;
    case 'unknown': arb = fc.jsonValue({ maxDepth: 2 }); break;
    case 'enum': arb = fc.constantFrom(...Object.values(def.entries ?? {})); break;
    case 'literal': arb = fc.constantFrom(...(def.values ?? [])); break;
    case 'nullable': arb = fc.option(of(def.innerType), { nil: null }); break;
    case 'optional': arb = fc.option(of(def.innerType), { nil: undefined }); break;
    case 'union': arb = fc.oneof(...(def.options ?? []).map(of)); break;
    case 'array': {
      const checks = checksOf(def);
      const minLength = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
      const maxLength = checks.find((c) => c.check === 'max_length')?.maximum ?? minLength + 4;
      arb = fc.array(of(def.element), { minLength, maxLength });
      break;
    }
    case 'record': arb = fc.dictionary(of(def.keyType) as fc.Arbitrary<string>, of(def.valueType), { maxKeys: 4 }); break;
    case 'pipe': {
      if (!standIns.has(schema)) throw new Error('no arbitrary for a zod transform (pipe) without a stand-in schema');
      arb = of(standIns.get(schema));
      break;
    }
    default: throw new Error(`no arbitrary for zod type ${def.type}`);
  }
  return arb.filter((v) => zod.safeParse(v).success);
}
