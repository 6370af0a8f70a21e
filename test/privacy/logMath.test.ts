import { expect } from "chai";
import { erfc, logAdd, logErfc, logSub } from "../../node/privacy/logMath";

describe("privacy/logMath", function () {
  it("logErfc matches 40-digit references across both tails and the series/fraction seam", function () {
    // Reference values: log(erfc(x)) by mpmath at 40 significant digits.
    const references: [x: number, logErfc: number][] = [
      [-30, 0.6931471805599453],
      [-2, 0.6908055736465877],
      [-0.3, 0.28414589714140825],
      [0, 0],
      [1e-8, -1.1283791734617103e-8],
      [0.3, -0.39843005144008525],
      [1, -1.8496055099332482],
      [1.9999, -5.3644994577735305],
      [2, -5.364941264616638],
      [2.0001, -5.365383089934763],
      [5, -27.200889545537436],
      [27, -732.8688865078974],
      [1000, -1000007.4801207219],
    ];
    for (const [x, ref] of references)
      expect(Math.abs(logErfc(x) - ref), `x=${x}`).to.be.at.most(1e-13 * Math.max(1, Math.abs(ref)));
  });

  it("erfc satisfies erfc(-x) = 2 - erfc(x) and underflows only far in the tail", function () {
    for (const x of [0.1, 0.7, 1.5, 2.5, 4]) expect(erfc(-x) + erfc(x)).to.be.closeTo(2, 1e-15);
    expect(erfc(1)).to.be.closeTo(0.1572992070502851, 1e-15);
    expect(erfc(30)).to.equal(0);
    expect(Number.isFinite(logErfc(30))).to.be.true;
  });

  it("adds and subtracts in log space without overflow", function () {
    expect(logAdd(Math.log(2), Math.log(3))).to.be.closeTo(Math.log(5), 1e-15);
    expect(logAdd(-Infinity, 7)).to.equal(7);
    expect(logAdd(1000, 1000)).to.be.closeTo(1000 + Math.LN2, 1e-12);
    expect(logSub(Math.log(5), Math.log(3))).to.be.closeTo(Math.log(2), 1e-15);
    expect(logSub(4, 4)).to.equal(-Infinity);
    expect(logSub(4, -Infinity)).to.equal(4);
    expect(() => logSub(3, 4)).to.throw(RangeError);
  });
});
