import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Progress } from '../../src/cli/progress';

function sink(isTTY: boolean): { write(s: string): void; isTTY: boolean; columns: number; text: string } {
  return { isTTY, columns: 100, text: '', write(s: string) { this.text += s; } };
}

describe('progress', () => {
  test('not a terminal: a plain line every interval, with fields and ETA from the rate', () => {
    let clock = 0;
    const out = sink(false);
    const p = new Progress({ total: 100, label: 'train', out, interval: 10, now: () => clock });
    for (let step = 1; step <= 30; step++) {
      clock = step; // one step a second
      p.update(step, { loss: (5 - step / 10).toFixed(2) });
    }
    const lines = out.text.trimEnd().split('\n');
    assert.deepEqual(lines, [
      'train 1/100 (1%) loss 4.90 · ETA 1m39s',
      'train 11/100 (11%) loss 3.90 · ETA 1m29s',
      'train 21/100 (21%) loss 2.90 · ETA 1m19s',
    ]);
    p.log('eval: val_loss 2.5');
    assert.ok(out.text.endsWith('eval: val_loss 2.5\n'));
    clock = 100;
    p.update(100);
    p.finish();
    assert.ok(out.text.endsWith('eval: val_loss 2.5\ntrain 100/100 (100%) ETA 0s\n'), 'the last line once');
  });

  test('a resumed run counts only its own progress toward the rate', () => {
    let clock = 0;
    const p = new Progress({ total: 200, start: 100, out: sink(false), now: () => clock });
    clock = 10;
    p.update(110);
    assert.equal(p.eta(), 90);
  });

  test('terminal: the bar is redrawn in place and log lines go above it', () => {
    let clock = 0;
    const out = sink(true);
    const p = new Progress({ total: 4, out, now: () => clock });
    clock = 1;
    p.update(2, { loss: '1.00' });
    assert.ok(out.text.startsWith('\r\x1b[K['));
    assert.ok(out.text.includes('2/4 loss 1.00 · ETA 1s'));
    p.log('checkpoint step 2');
    assert.ok(out.text.includes('\r\x1b[Kcheckpoint step 2\n\r\x1b[K['));
    clock = 2;
    p.update(4);
    p.finish();
    assert.ok(out.text.endsWith('\n'));
    assert.ok(!out.text.includes('\n\n'));
  });
});
