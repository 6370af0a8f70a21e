import { expect } from "chai";
import { computeMetrics, type LabelledPrediction } from "../../node/model/metrics";

describe("model metrics", () => {
  // Hand-made: 4 Swedish notes and 2 Finnish notes, three labels scored.
  const items: LabelledPrediction[] = [
    { lang: "sv", gold: ["cardiac_rhythm_device"], predicted: ["cardiac_rhythm_device"] },
    { lang: "sv", gold: ["cardiac_rhythm_device", "adr"], predicted: ["cardiac_rhythm_device"] },
    { lang: "sv", gold: [], predicted: ["adr"] },
    { lang: "sv", gold: ["adr"], predicted: ["adr"] },
    { lang: "fi", gold: ["heart_valve"], predicted: [] },
    { lang: "fi", gold: [], predicted: ["cardiac_rhythm_device"] },
  ];
  const metrics = computeMetrics(items, ["cardiac_rhythm_device", "heart_valve", "cochlear_implant", "adr"]);

  it("counts per label and scores precision, recall and F1 exactly", () => {
    const byLabel = Object.fromEntries(metrics.perLabel.map((m) => [m.label, m]));
    expect(byLabel.cardiac_rhythm_device).to.deep.include({ tp: 2, fp: 1, fn: 0, support: 2 });
    expect(byLabel.cardiac_rhythm_device.precision).to.equal(2 / 3);
    expect(byLabel.cardiac_rhythm_device.recall).to.equal(1);
    expect(byLabel.cardiac_rhythm_device.f1).to.equal(0.8);
    expect(byLabel.heart_valve).to.deep.include({ tp: 0, fp: 0, fn: 1, precision: 0, recall: 0, f1: 0 });
    expect(byLabel.adr).to.deep.include({ tp: 1, fp: 1, fn: 1, precision: 0.5, recall: 0.5, f1: 0.5 });
    // Absent from gold and predictions: no figures, not averaged.
    expect(byLabel.cochlear_implant).to.deep.include({ support: 0, precision: null, recall: null, f1: null });
  });

  it("averages micro over summed counts and macro over present labels", () => {
    // tp 3, fp 2, fn 2
    expect(metrics.micro.precision).to.equal(0.6);
    expect(metrics.micro.recall).to.equal(0.6);
    expect(metrics.micro.f1).to.equal(0.6);
    expect(metrics.macro.f1).to.be.closeTo((0.8 + 0 + 0.5) / 3, 1e-12);
    expect(metrics.macro.precision).to.be.closeTo((2 / 3 + 0 + 0.5) / 3, 1e-12);
    expect(metrics.macro.recall).to.be.closeTo((1 + 0 + 0.5) / 3, 1e-12);
    expect(metrics.n).to.equal(6);
  });

  it("scores the derived implant output and each language on its own", () => {
    // implant gold: notes 1, 2, 5; predicted: notes 1, 2, 6
    expect(metrics.implant).to.deep.include({ tp: 2, fp: 1, fn: 1 });
    expect(Object.keys(metrics.byLang)).to.deep.equal(["fi", "sv"]);
    const sv = metrics.byLang.sv!;
    expect(sv.n).to.equal(4);
    expect(sv.micro.f1).to.equal(0.75); // tp 3, fp 1, fn 1
    const fi = metrics.byLang.fi!;
    expect(fi.micro).to.deep.equal({ precision: 0, recall: 0, f1: 0 });
    expect(fi.perLabel.find((m) => m.label === "adr")!.f1).to.equal(null);
  });
});
