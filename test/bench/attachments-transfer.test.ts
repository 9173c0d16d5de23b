// The transfer benchmark (bench/attachments-transfer.ts) on a small blob: `parley serve` and the plain
// HTTP baseline start in their own processes, both directions are measured, and figures come back.
import { expect } from 'chai';
import { measureTransfer } from '../../bench/attachments-transfer.ts';

describe('the attachment transfer benchmark', function () {
  this.timeout(90_000);

  it('measures upload and download through parley serve beside a plain node:http server and returns two ratio figures', async () => {
    const figures = await measureTransfer({ bytes: 3 * 2 ** 20 + 17, repeats: 1 });
    expect(figures.map((f) => f.name)).to.deep.equal([
      'upload through parley serve on loopback (SDK, 3 MiB)',
      'download through parley serve on loopback (SDK, 3 MiB)',
    ]);
    for (const f of figures) {
      expect(f.unit).to.equal('MiB/s');
      expect(f.ours).to.be.a('number').above(0);
      expect(f.baseline).to.be.a('number').above(0);
      expect(f.baselineName).to.include('node:http');
      expect(f.ratio).to.be.closeTo(f.ours! / f.baseline!, 0.01 + f.ratio! * 0.05);
      expect(f.met).to.equal(f.ratio! >= 0.5);
      expect(f.note).to.be.a('string');
    }
    expect(figures[0]!.note).to.match(/\d+(\.\d+)? s encrypting to the temporary file/);
  });
});
