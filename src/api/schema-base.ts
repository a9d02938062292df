/** The schema pieces every API module shares: string enums, and the `?dryRun=` query of every write. */
import { Type, type Static, type TSchema } from 'typebox';

/** A schema or null. */
export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A registry row id in a URL: anything else is a 404 without a query. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A string enum as JSON Schema `{ type: string, enum }`, which gives one clear error instead of anyOf noise. */
export function stringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

export const DRY_RUN_QUERY = Type.Object(
  {
    dryRun: Type.Optional(
      stringEnum(['true', 'false'] as const, {
        description: '?dryRun=true validates the change and returns what would be stored, without storing it (the strings true and false only)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DryRunQuery = Static<typeof DRY_RUN_QUERY>;

/** True when the querystring asks for a dry run. */
export const isDryRun = (query: DryRunQuery): boolean => query.dryRun === 'true';
