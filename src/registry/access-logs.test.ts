/** The raw access-log table: the batched COPY stores every field as given, and the trace and search queries read it back. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { accessRecord } from '../../test/support/access-log-records.ts';
import { accessLogCopyText, copyAccessLogRows, insertAccessLogRecords, searchAccessLogs, traceEntries } from './access-logs.ts';
import { ensurePartitions } from './partitions.ts';

const NOW = new Date('2026-12-02T10:00:00Z');

describe('access-log entries', () => {
  const fixture = useTestDatabase(['access_log_entries']);
  beforeAll(async () => {
    await ensurePartitions(fixture.db, 'access_log_entries', NOW);
  });

  it('stores text that COPY would otherwise split or refuse exactly, NUL replaced by U+FFFD', async () => {
    const path = '/a\tb\nc\rd\\e "quoted" {braces},commas é 😀\\N';
    await insertAccessLogRecords(fixture.database, [
      accessRecord('2026-12-02T09:00:00.123Z', { path, method: 'GET\0X', traceId: 'trace-1', requestId: 'r\\1', route: 'shop/a\tb', grpcStatus: 14, durationMs: 0.125 }),
    ]);
    const [row] = await traceEntries(fixture.db, 'trace-1');
    expect(row).toMatchObject({ path, method: 'GET\uFFFDX', requestId: 'r\\1', route: 'shop/a\tb', grpcStatus: 14, durationMs: 0.125, status: 200, bytesReceived: 100, bytesSent: 1000 });
    expect(row!.at.toISOString()).toBe('2026-12-02T09:00:00.123Z');
  });

  it('stores absent fields as NULL, not as empty text or zero', async () => {
    await insertAccessLogRecords(fixture.database, [
      accessRecord('2026-12-02T09:00:00Z', { protocol: 'tcp', direction: 'inbound', source: undefined, destination: undefined, status: undefined, durationMs: undefined, traceId: 'tcp-1' }),
    ]);
    const [row] = await traceEntries(fixture.db, 'tcp-1');
    expect(row).toMatchObject({ protocol: 'tcp', direction: 'inbound', source: null, destination: null, route: null, method: null, path: null, status: null, grpcStatus: null, durationMs: null, requestId: null });
  });

  it('builds one line of sixteen fields per record, whatever the text holds', () => {
    const lines = accessLogCopyText([accessRecord(NOW, { path: 'a\nb\tc' }), accessRecord(NOW)]).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    for (const line of lines.slice(0, 2)) expect(line.split('\t')).toHaveLength(16);
  });

  it('stores rows given as COPY text in parts, a part ending anywhere, even inside a character', async () => {
    const text = Buffer.from(accessLogCopyText([accessRecord('2026-12-02T09:00:00Z', { traceId: 'parts', path: '/é😀' }), accessRecord('2026-12-02T09:00:01Z', { traceId: 'parts' })]));
    const cut = text.indexOf('😀') + 2;
    await copyAccessLogRows(fixture.database, [text.subarray(0, 10), text.subarray(10, cut), text.subarray(cut)]);
    await copyAccessLogRows(fixture.database, []);
    expect((await traceEntries(fixture.db, 'parts')).map((r) => r.path)).toEqual(['/é😀', null]);
  });

  it('stores a batch whole or not at all', async () => {
    const batch = [accessRecord('2026-12-02T09:00:00Z', { traceId: 'whole' }), accessRecord('2026-11-01T00:00:00Z', { traceId: 'whole' })];
    await expect(insertAccessLogRecords(fixture.database, batch)).rejects.toThrow(/partition/);
    expect(await traceEntries(fixture.db, 'whole')).toEqual([]);
  });

  it('finds a trace\'s entries in time order, and the slow or failed requests of a window', async () => {
    await insertAccessLogRecords(fixture.database, [
      accessRecord('2026-12-02T09:00:02Z', { traceId: 't', proxyId: 'orders-1', direction: 'inbound', durationMs: 5 }),
      accessRecord('2026-12-02T09:00:01Z', { traceId: 't', durationMs: 900 }),
      accessRecord('2026-12-02T09:00:03Z', { traceId: 'u', status: 503, durationMs: 2 }),
      accessRecord('2026-12-02T08:00:00Z', { traceId: 'v', status: 500, durationMs: 3000 }),
    ]);
    expect((await traceEntries(fixture.db, 't')).map((r) => r.proxyId)).toEqual(['web-1', 'orders-1']);
    const window = { since: new Date('2026-12-02T08:30:00Z'), until: new Date('2026-12-02T09:30:00Z'), limit: 10 };
    expect((await searchAccessLogs(fixture.db, { ...window, minDurationMs: 100 })).map((r) => r.traceId)).toEqual(['t']);
    expect((await searchAccessLogs(fixture.db, { ...window, failed: true })).map((r) => r.traceId)).toEqual(['u']);
  });
});
