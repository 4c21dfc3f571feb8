/** Request headers as Node delivers them: lower-cased names, repeated headers as arrays. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Query parameters, already percent-decoded by the router; repeated ones as arrays. */
export type QueryParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The first value of a header or query parameter. */
export function firstValue(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value[0];
}
