import { describe, expect, it } from 'vitest';
import { WriteBudget } from './write-budget.ts';

/** A transport whose flushes the test completes by hand. */
function transport() {
  const sent: string[] = [];
  const pending: (() => void)[] = [];
  return {
    sent,
    send: (bytes: Buffer, done: () => void) => {
      sent.push(bytes.toString());
      pending.push(done);
    },
    flush: () => pending.shift()!(),
    get waiting() {
      return pending.length;
    },
  };
}

const build = (text: string, log: string[]) => () => {
  log.push(text);
  return Buffer.from(text);
};

describe('WriteBudget', () => {
  it('builds and sends at once while under budget', () => {
    const t = transport();
    const built: string[] = [];
    const b = new WriteBudget(100);
    b.submit('a', t.send, build('aaaa', built));
    b.submit('b', t.send, build('bbbb', built));
    expect(t.sent).toEqual(['aaaa', 'bbbb']);
    expect(b.bytesInFlight).toBe(8);
  });

  it('keeps each stream in order: the next response is built only after the previous one flushed', () => {
    const t = transport();
    const built: string[] = [];
    const b = new WriteBudget(100);
    b.submit('a', t.send, build('one', built));
    b.submit('a', t.send, build('two', built));
    expect(built).toEqual(['one']);
    t.flush();
    expect(t.sent).toEqual(['one', 'two']);
  });

  it('over budget, other streams wait without assembling their bytes, then go in turn', () => {
    const t = transport();
    const built: string[] = [];
    const b = new WriteBudget(10);
    b.submit('a', t.send, build('0123456789', built));
    b.submit('b', t.send, build('bb', built));
    b.submit('c', t.send, build('cc', built));
    expect(built).toEqual(['0123456789']);
    t.flush();
    expect(t.sent).toEqual(['0123456789', 'bb', 'cc']);
    expect(b.bytesInFlight).toBe(4);
  });

  it('lets one response through even when it alone exceeds the budget', () => {
    const t = transport();
    const b = new WriteBudget(2);
    b.submit('a', t.send, () => Buffer.alloc(50));
    expect(t.waiting).toBe(1);
  });

  it('gives back the bytes of a closed stream and forgets its queue', () => {
    const t = transport();
    const built: string[] = [];
    const b = new WriteBudget(10);
    b.submit('a', t.send, build('0123456789', built));
    b.submit('a', t.send, build('never', built));
    b.submit('b', t.send, build('bb', built));
    b.close('a');
    expect(b.bytesInFlight).toBe(2);
    expect(built).toEqual(['0123456789', 'bb']);
    t.flush(); // the dead stream's late report changes nothing
    expect(b.bytesInFlight).toBe(2);
  });
});
