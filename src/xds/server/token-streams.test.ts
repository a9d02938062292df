/** The registry of streams opened with join tokens: which ones a revalidation ends. */
import { describe, expect, it } from 'vitest';
import { TokenStreams } from './token-streams.ts';

describe('TokenStreams', () => {
  it('ends only the streams of tokens no longer valid, once, asking about each token once', async () => {
    const streams = new TokenStreams();
    const denied: string[] = [];
    streams.add('t1', (m) => denied.push(`a: ${m}`));
    streams.add('t2', (m) => denied.push(`b: ${m}`));
    streams.add('t1', (m) => denied.push(`c: ${m}`));
    const asked: string[][] = [];
    const stillValid = async (ids: readonly string[]) => {
      asked.push([...ids]);
      return new Set(['t2']);
    };
    await streams.revalidate(stillValid);
    expect(asked).toEqual([['t1', 't2']]);
    expect(denied).toEqual(['a: join token t1 was revoked or has expired', 'c: join token t1 was revoked or has expired']);
    expect(streams.size).toBe(1);
    await streams.revalidate(stillValid);
    expect(denied).toHaveLength(2);
  });

  it('forgets a stream that ended, and asks nothing when none is open', async () => {
    const streams = new TokenStreams();
    const untrack = streams.add('t1', () => expect.unreachable('an ended stream is not denied'));
    untrack();
    expect(streams.size).toBe(0);
    await streams.revalidate(async () => expect.unreachable('nothing to ask'));
  });

  it('keeps every stream when the validity check fails (the database is away)', async () => {
    const streams = new TokenStreams();
    const denied: string[] = [];
    streams.add('t1', (m) => denied.push(m));
    await streams.revalidate(async () => {
      throw new Error('connection refused');
    });
    expect(denied).toEqual([]);
    expect(streams.size).toBe(1);
  });
});
