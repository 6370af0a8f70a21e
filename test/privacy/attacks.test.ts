import { expect } from "chai";
import {
  auc,
  distinctWords,
  maxRecallOverFpr,
  ratesAbove,
  rocCurve,
  rowChangeNorms,
  termRowIds,
  tprAtFpr,
  wordRowId,
} from "../../node/privacy/attacks";
import { defaultSpec } from "../../node/model/spec";
import { featurize } from "../../node/text/features";

/*
 * The scoring of bench:privacy's attacks, checked against values worked out by hand, and the row lookup
 * checked against the features the model trains on.
 */
describe("privacy/attacks", function () {
  it("auc counts pairs, ties as one half", function () {
    expect(auc([0.9, 0.4], [0.1, 0.4, 0.2])).to.be.closeTo(5.5 / 6, 1e-12);
    expect(auc([3], [1, 2])).to.equal(1);
    expect(auc([1], [2, 3])).to.equal(0);
    expect(auc([1, 1], [1, 1, 1])).to.equal(0.5);
    // Brute force over all pairs on a larger set with many ties.
    const pos = Array.from({ length: 40 }, (_, i) => (i * 7) % 11);
    const neg = Array.from({ length: 55 }, (_, i) => (i * 5) % 9);
    let wins = 0;
    for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
    expect(auc(pos, neg)).to.be.closeTo(wins / (pos.length * neg.length), 1e-12);
  });

  it("refuses empty sets and NaN scores", function () {
    expect(() => auc([], [1])).to.throw(RangeError, /members and non-members/);
    expect(() => auc([1], [NaN])).to.throw(RangeError, /NaN/);
    expect(() => tprAtFpr([1], [], 0.01)).to.throw(RangeError);
  });

  it("tprAtFpr: with 99 non-members at 1% a member must beat every one", function () {
    const neg = Array.from({ length: 99 }, (_, i) => i); // 0 … 98
    expect(tprAtFpr([99, 98, 50], neg, 0.01)).to.be.closeTo(1 / 3, 1e-12);
    // 200 non-members at 1%: two may sit above the threshold (the third largest, 197).
    const neg200 = Array.from({ length: 200 }, (_, i) => i);
    expect(tprAtFpr([198, 197, 10], neg200, 0.01)).to.be.closeTo(1 / 3, 1e-12);
    expect(tprAtFpr([0], [1, 2], 1)).to.equal(1);
  });

  it("ratesAbove and the ROC curve", function () {
    expect(ratesAbove([0, 1, 2, 3], [0, 0, 5], 0)).to.deep.equal({ recall: 0.75, fpr: 1 / 3 });
    const roc = rocCurve([3, 2], [2, 1]);
    expect(roc).to.deep.equal([
      { threshold: 3, fpr: 0, tpr: 0.5 },
      { threshold: 2, fpr: 0.5, tpr: 1 },
      { threshold: 1, fpr: 1, tpr: 1 },
    ]);
  });

  it("maxRecallOverFpr skips thresholds below the FPR floor", function () {
    // Members 10, 9, 1; non-members 8, 2, 0, 0. At threshold 8: tpr 2/3, fpr 1/4 → ratio 8/3.
    const best = maxRecallOverFpr([10, 9, 1], [8, 2, 0, 0], 0.2);
    expect(best.ratio).to.be.closeTo(8 / 3, 1e-12);
    expect(best).to.include({ fpr: 0.25 });
    // With a floor above 1/4: (fpr 1/2, tpr 2/3) gives 4/3, (fpr 1/2, tpr 1) gives 2, (1, 1) gives 1.
    expect(maxRecallOverFpr([10, 9, 1], [8, 2, 0, 0], 0.3)).to.deep.equal({ ratio: 2, fpr: 0.5, recall: 1 });
  });

  it("rowChangeNorms is the L2 norm of each row's change", function () {
    const before = new Float32Array([0, 0, 1, 1, 5, 5]);
    const after = new Float32Array([3, 4, 1, 1, 5, 6]);
    expect(rowChangeNorms(after, before, 2, [0, 1, 2])).to.deep.equal([5, 0, 1]);
  });

  it("finds a word's rows among the features the model trains on", function () {
    const config = defaultSpec().features;
    const sentence = Array.from(featurize("pacemaker", "nb", config));
    expect(sentence).to.include(wordRowId("pacemaker", "nb", config));
    const uni = termRowIds("pacemaker", "nb", config, "unigram");
    const longest = termRowIds("pacemaker", "nb", config, "longest-grams");
    const all = termRowIds("pacemaker", "nb", config, "all-grams");
    expect(uni).to.have.length(1);
    expect(longest[0]).to.equal(uni[0]);
    expect(longest.length).to.be.greaterThan(1);
    expect(all.length).to.be.at.least(longest.length);
    for (const id of all) expect(sentence).to.include(id);
  });

  it("distinctWords keeps words of four letters or more, lower case", function () {
    const words = distinctWords(["Pasienten har pacemaker (DDD) fra 2019.", "Har ICD og en pacemaker"]);
    expect([...words].sort()).to.deep.equal(["pacemaker", "pasienten"]);
  });
});
