/**
 * The alert tables: rules (CRUD, names unique), alert history (listing, the evaluator's transitions
 * stored in one transaction, webhook deliveries). Endpoint health comes from endpoints.ts, the
 * replicas' proxies and counters from replicas.ts, expiring certificates from ca.ts.
 * Validating rules and deciding transitions is src/analytics/; this file only stores and reads.
 */
import { and, asc, desc, eq, gte, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from './db.ts';
import { isUniqueViolation } from './errors.ts';
import { alertRules, alerts, type AlertRow, type AlertRuleRow } from './schema.ts';
import type { WriteResult } from './services.ts';

/** What a rule write stores (a validated spec: src/analytics/alert-rules.ts). */
export type AlertRuleInput = Pick<AlertRuleRow, 'name' | 'description' | 'kind' | 'service' | 'forMs' | 'severity' | 'webhookUrl' | 'enabled'> & {
  params: object;
};

const nameTaken = (name: string): WriteResult<never> => ({ ok: false, reason: 'conflict', detail: `an alert rule named "${name}" already exists` });
const noRule = (id: string): WriteResult<never> => ({ ok: false, reason: 'not-found', detail: `alert rule ${id.slice(0, 80)} does not exist` });

const columnsOf = (input: AlertRuleInput) => ({ ...input, params: input.params as Record<string, unknown> });

/** Stores a new rule; a name already used is a conflict. */
export async function createAlertRule(db: Db, input: AlertRuleInput): Promise<WriteResult<AlertRuleRow>> {
  try {
    const [row] = await db.insert(alertRules).values(columnsOf(input)).returning();
    return { ok: true as const, value: row! };
  } catch (err) {
    if (isUniqueViolation(err)) return nameTaken(input.name);
    throw err;
  }
}

/** Every rule, by name. */
export async function listAlertRules(db: Db | Tx): Promise<AlertRuleRow[]> {
  return db.select().from(alertRules).orderBy(asc(alertRules.name));
}

/** One rule by id. */
export async function getAlertRule(db: Db | Tx, id: string): Promise<AlertRuleRow | undefined> {
  const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id));
  return row;
}

/** Replaces a rule; its alerts keep their history (they carry the name they fired under). */
export async function updateAlertRule(db: Db, id: string, input: AlertRuleInput): Promise<WriteResult<AlertRuleRow>> {
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .update(alertRules)
        .set({ ...columnsOf(input), updatedAt: sql`now()` })
        .where(eq(alertRules.id, id))
        .returning();
      return row ? { ok: true as const, value: row } : noRule(id);
    });
  } catch (err) {
    if (isUniqueViolation(err)) return nameTaken(input.name);
    throw err;
  }
}

/** Deletes a rule: its pending alerts go, its firing ones are resolved at `at` and stay in the history. */
export async function deleteAlertRule(db: Db, id: string, at: Date): Promise<WriteResult<AlertRuleRow>> {
  return db.transaction(async (tx) => {
    const [rule] = await tx.select().from(alertRules).where(eq(alertRules.id, id)).for('update');
    if (!rule) return noRule(id);
    await tx.delete(alerts).where(and(eq(alerts.ruleId, id), eq(alerts.state, 'pending')));
    await tx.update(alerts).set({ state: 'resolved', resolvedAt: at }).where(and(eq(alerts.ruleId, id), eq(alerts.state, 'firing')));
    await tx.delete(alertRules).where(eq(alertRules.id, id));
    return { ok: true as const, value: rule };
  });
}

export interface AlertFilter {
  state?: AlertRow['state'];
  /** A rule's id. */
  ruleId?: string;
  /** The name a rule had when its alerts started (alerts of a deleted rule keep it). */
  ruleName?: string;
  /** Only alerts that started, fired or resolved at or after this time. */
  since?: Date;
}

/** Alerts, newest first (by start), at most `limit`. */
export async function listAlerts(db: Db | Tx, filter: AlertFilter = {}, limit = 100): Promise<AlertRow[]> {
  const where: (SQL | undefined)[] = [];
  if (filter.state !== undefined) where.push(eq(alerts.state, filter.state));
  if (filter.ruleId !== undefined) where.push(eq(alerts.ruleId, filter.ruleId));
  if (filter.ruleName !== undefined) where.push(eq(alerts.ruleName, filter.ruleName));
  if (filter.since !== undefined) {
    const since = filter.since;
    where.push(or(gte(alerts.startedAt, since), gte(alerts.firedAt, since), gte(alerts.resolvedAt, since)));
  }
  return db
    .select()
    .from(alerts)
    .where(and(...where))
    .orderBy(desc(alerts.startedAt), asc(alerts.id))
    .limit(limit);
}

/** One alert by id. */
export async function getAlert(db: Db | Tx, id: string): Promise<AlertRow | undefined> {
  const [row] = await db.select().from(alerts).where(eq(alerts.id, id));
  return row;
}

/** The alerts of existing rules not resolved yet (pending or firing). */
export async function openAlerts(db: Db | Tx): Promise<(AlertRow & { ruleId: string; state: 'pending' | 'firing' })[]> {
  const rows = await db
    .select()
    .from(alerts)
    .where(and(ne(alerts.state, 'resolved'), sql`${alerts.ruleId} is not null`))
    .orderBy(asc(alerts.startedAt), asc(alerts.id));
  return rows as (AlertRow & { ruleId: string; state: 'pending' | 'firing' })[];
}

/** A state change to store (the shape of src/analytics/alert-eval.ts's transitions). */
export type AlertChange =
  | { type: 'open'; ruleId: string; ruleName: string; subject: string; state: 'pending' | 'firing'; severity: AlertRow['severity']; value: number; message: string; at: Date }
  | { type: 'fire'; alertId: string; value: number; message: string; at: Date }
  | { type: 'drop'; alertId: string }
  | { type: 'resolve'; alertId: string; at: Date };

/** Applies one change; the row as it is after it, or undefined when the alert was not in the expected state (another writer got there first). */
async function applyOne(tx: Tx, c: AlertChange): Promise<AlertRow | undefined> {
  switch (c.type) {
    case 'open': {
      const values = { ruleId: c.ruleId, ruleName: c.ruleName, subject: c.subject, state: c.state, severity: c.severity, value: c.value, message: c.message, startedAt: c.at };
      const [row] = await tx
        .insert(alerts)
        .values({ ...values, firedAt: c.state === 'firing' ? c.at : null })
        .onConflictDoNothing()
        .returning();
      return row;
    }
    case 'fire': {
      const set = { state: 'firing' as const, firedAt: c.at, value: c.value, message: c.message };
      const [row] = await tx.update(alerts).set(set).where(and(eq(alerts.id, c.alertId), eq(alerts.state, 'pending'))).returning();
      return row;
    }
    case 'resolve': {
      const [row] = await tx.update(alerts).set({ state: 'resolved', resolvedAt: c.at }).where(and(eq(alerts.id, c.alertId), eq(alerts.state, 'firing'))).returning();
      return row;
    }
    case 'drop': {
      const [row] = await tx.delete(alerts).where(and(eq(alerts.id, c.alertId), eq(alerts.state, 'pending'))).returning();
      return row;
    }
  }
}

/** Stores a round's changes in one transaction; each with the row it touched (undefined: nothing to do any more). */
export async function applyAlertChanges<C extends AlertChange>(db: Db, changes: readonly C[]): Promise<{ change: C; row: AlertRow | undefined }[]> {
  if (changes.length === 0) return [];
  return db.transaction(async (tx) => {
    const out: { change: C; row: AlertRow | undefined }[] = [];
    for (const change of changes) out.push({ change, row: await applyOne(tx, change) });
    return out;
  });
}

/** One webhook attempt, as `alerts.deliveries` lists them. */
export interface DeliveryAttempt {
  event: 'firing' | 'resolved';
  at: string;
  attempt: number;
  /** The HTTP status answered, or null when there was no answer. */
  status: number | null;
  ok: boolean;
  error?: string;
}

/** Appends a webhook attempt to an alert's deliveries. */
export async function recordDelivery(db: Db, alertId: string, attempt: DeliveryAttempt): Promise<void> {
  await db
    .update(alerts)
    .set({ deliveries: sql`${alerts.deliveries} || ${JSON.stringify([attempt])}::jsonb` })
    .where(eq(alerts.id, alertId));
}
