/** The sink between metrics streams and the table: latest values per proxy, at most one write per interval, never a throw. */
import { describe, expect, it } from 'vitest';
import type { Plain } from '../protos/type-urls.ts';
import type { ClusterStat } from './cluster-stats.ts';
import { ClusterStatsSink, type ClusterStatsSinkOptions } from './metrics-sink.ts';

const counter = (name: string, value: number): Plain => ({ name, type: 'COUNTER', metric: [{ counter: { value } }] });
const rq = (cluster: string, value: number) => counter(`cluster.${cluster}.upstream_rq_total`, value);

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

interface Written {
  proxyId: string;
  stats: ClusterStat[];
  at: Date;
}

/** A sink over a fake write that records what it got; `fail` makes the next writes throw. */
function harness(over: Partial<ClusterStatsSinkOptions> = {}) {
  const written: Written[] = [];
  const errors: string[] = [];
  const control = { fail: false };
  const sink = new ClusterStatsSink({
    minIntervalMs: 30_000,
    write: async (proxyId, stats, when) => {
      if (control.fail) throw new Error('database down');
      written.push({ proxyId, stats, at: when });
    },
    onWriteError: (err, proxyId) => errors.push(`${proxyId}: ${err.message}`),
    ...over,
  });
  return { sink, written, errors, control };
}
const tick = () => new Promise((r) => setTimeout(r, 0));
const values = (w: Written | undefined) => w?.stats.map((s) => `${s.cluster} ${s.stat}=${s.value}`);

describe('ClusterStatsSink', () => {
  it("writes a proxy's first message at once, then at most once per interval with the latest values", async () => {
    const { sink, written } = harness();
    expect(sink.accept('p1', [rq('a.shop', 1), counter('http.x.downstream_rq_total', 5)], at(0))).toEqual({ kept: 1, skipped: 0 });
    await tick();
    expect(written).toEqual([{ proxyId: 'p1', stats: [{ cluster: 'a.shop', stat: 'upstream_rq_total', value: 1 }], at: at(0) }]);

    // Envoy flushes every 5 s: these coalesce.
    sink.accept('p1', [rq('a.shop', 2), rq('b.shop', 7)], at(5));
    sink.accept('p1', [rq('a.shop', 3)], at(10));
    sink.accept('p1', [], at(25));
    await tick();
    expect(written).toHaveLength(1);

    sink.accept('p1', [rq('a.shop', 4)], at(30));
    await tick();
    expect(written).toHaveLength(2);
    expect(values(written[1])).toEqual(['a.shop upstream_rq_total=4', 'b.shop upstream_rq_total=7']);
    expect(written[1]!.at).toEqual(at(30));
    expect(sink.stats).toMatchObject({ messages: 5, kept: 5, skipped: 0, writes: 2, writeFailures: 0 });
  });

  it('times each proxy on its own', async () => {
    const { sink, written } = harness();
    sink.accept('p1', [rq('a.shop', 1)], at(0));
    sink.accept('p2', [rq('a.shop', 9)], at(1));
    sink.accept('p1', [rq('a.shop', 2)], at(2));
    await tick();
    expect(written.map((w) => `${w.proxyId} ${values(w)}`)).toEqual(['p1 a.shop upstream_rq_total=1', 'p2 a.shop upstream_rq_total=9']);
  });

  it('never runs two writes of one proxy at once', async () => {
    let release!: () => void;
    const calls: Written[] = [];
    const { sink } = harness({
      write: (proxyId, stats, when) => {
        calls.push({ proxyId, stats, at: when });
        return calls.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
    });
    sink.accept('p1', [rq('a.shop', 1)], at(0));
    sink.accept('p1', [rq('a.shop', 2)], at(40)); // due, but the first write still runs
    expect(calls).toHaveLength(1);
    release();
    await tick();
    sink.accept('p1', [rq('a.shop', 3)], at(45));
    await tick();
    expect(calls.map(values)).toEqual([['a.shop upstream_rq_total=1'], ['a.shop upstream_rq_total=3']]);
    expect(calls[1]!.at).toEqual(at(45));
  });

  it('counts failed writes, drops their values, and goes on; a write that throws at once is caught too', async () => {
    const { sink, written, errors, control } = harness();
    control.fail = true;
    expect(() => sink.accept('p1', [rq('a.shop', 1)], at(0))).not.toThrow();
    await tick();
    expect(sink.stats).toMatchObject({ writes: 0, writeFailures: 1 });
    expect(errors).toEqual(['p1: database down']);

    control.fail = false;
    sink.accept('p1', [rq('b.shop', 2)], at(30));
    await tick();
    expect(written.map(values)).toEqual([['b.shop upstream_rq_total=2']]);

    const throwing = new ClusterStatsSink({
      minIntervalMs: 0,
      write: () => {
        throw new Error('sync');
      },
      onWriteError: () => {
        throw new Error('the logger fails too');
      },
    });
    expect(() => throwing.accept('p1', [rq('a.shop', 1)], at(0))).not.toThrow();
    await throwing.flush();
    expect(throwing.stats.writeFailures).toBe(1);
  });

  it('flush writes what waits, whatever the interval, after the write in flight', async () => {
    const { sink, written } = harness();
    sink.accept('p1', [rq('a.shop', 1)], at(0));
    sink.accept('p1', [rq('a.shop', 2)], at(5));
    sink.accept('p2', [rq('c.shop', 3)], at(6));
    sink.accept('p2', [rq('c.shop', 4)], at(7));
    await sink.flush();
    expect(written.map((w) => `${w.proxyId} ${values(w)} ${w.at.toISOString()}`).sort()).toEqual([
      `p1 a.shop upstream_rq_total=1 ${at(0).toISOString()}`,
      `p1 a.shop upstream_rq_total=2 ${at(5).toISOString()}`,
      `p2 c.shop upstream_rq_total=3 ${at(6).toISOString()}`,
      `p2 c.shop upstream_rq_total=4 ${at(7).toISOString()}`,
    ]);
    await sink.flush();
    expect(written).toHaveLength(4);
  });

  it('writes the last values of a proxy that stopped sending, and forgets idle proxies', async () => {
    const { sink, written } = harness();
    sink.accept('gone', [rq('a.shop', 1)], at(0));
    sink.accept('gone', [rq('a.shop', 2)], at(5)); // waits for the interval; no more messages come
    await tick();
    sink.accept('p2', [rq('b.shop', 1)], at(31)); // another proxy's message sweeps
    await tick();
    expect(written.filter((w) => w.proxyId === 'gone').map(values)).toEqual([['a.shop upstream_rq_total=1'], ['a.shop upstream_rq_total=2']]);
    sink.accept('p2', [], at(62));
    await tick();
    sink.accept('p2', [rq('b.shop', 2)], at(93)); // p2 stays (a write of its own), idle 'gone' is forgotten
    await tick();
    expect(sink.stats.proxies).toBe(1);
  });

  it('bounds the values held per proxy and counts what does not fit or is malformed', () => {
    const { sink } = harness({ maxStatsPerProxy: 2 });
    sink.accept('p1', [rq('a.shop', 1)], at(0)); // written at once: nothing held
    expect(sink.accept('p1', [rq('a.shop', 1), rq('b.shop', 1), rq('c.shop', 1)], at(1))).toEqual({ kept: 2, skipped: 1 });
    expect(sink.accept('p1', [rq('a.shop', 2), rq('d.shop', 1), counter('cluster.x.upstream_rq_2xx', Number.NaN)], at(2))).toEqual({ kept: 1, skipped: 2 });
    expect(sink.stats).toMatchObject({ messages: 3, kept: 4, skipped: 3 });
  });

  it('counts the stats of a message with no proxy or no time as skipped instead of throwing', () => {
    const { sink } = harness();
    expect(sink.accept('', [rq('a.shop', 1)], at(0))).toEqual({ kept: 0, skipped: 1 });
    expect(sink.accept('p1', [rq('a.shop', 1)], new Date(Number.NaN))).toEqual({ kept: 0, skipped: 1 });
    expect(sink.accept('p1', null as unknown as Plain[], at(0))).toEqual({ kept: 0, skipped: 1 });
    expect(sink.stats).toMatchObject({ messages: 3, kept: 0, skipped: 3, writes: 0 });
  });

  it('refuses a nonsensical interval when made', () => {
    expect(() => new ClusterStatsSink({ minIntervalMs: -1, write: async () => {} })).toThrow(RangeError);
  });
});
