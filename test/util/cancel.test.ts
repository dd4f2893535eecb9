// Cancel (src/util/cancel.ts): every listener is called once on cancel, even those that unregister themselves from
// their own callback, as the socket exchanges do when they clean up.
import { describe, expect, it } from 'vitest';
import { Cancel } from '../../src/util/cancel.js';

describe('Cancel', () => {
  it('calls every listener once, even when each unregisters itself as it runs', () => {
    const c = new Cancel();
    const called: number[] = [];
    for (let i = 0; i < 5; i++) {
      const off = c.onCancel(() => {
        called.push(i);
        off();
      });
    }
    c.cancel();
    c.cancel();
    expect(called).toEqual([0, 1, 2, 3, 4]);
  });

  it('does not call a listener unregistered before the cancel; one added after is called at once', () => {
    const c = new Cancel();
    const called: string[] = [];
    const off = c.onCancel(() => called.push('gone'));
    c.onCancel(() => called.push('kept'));
    off();
    c.cancel();
    c.onCancel(() => called.push('late'));
    expect(called).toEqual(['kept', 'late']);
  });
});
