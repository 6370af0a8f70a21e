import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { formatMetrics } from "../../node/cli/commands/evaluate";
import { hashModelBytes } from "../../node/model/format";
import { generateNotes, writeNotesJsonl } from "../../node/text/corpus";

const BIN = path.join(__dirname, "..", "..", "bin", "fedledger.js");
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function fedledger(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, FEDLEDGER_QUIET: "1" },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("model CLI: train, evaluate, predict, hash, export/import", function () {
  this.timeout(180_000);
  let dir: string;
  let model: string;
  let train: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "fedledger-cli-"));
    train = path.join(dir, "train.jsonl");
    await writeNotesJsonl(train, [generateNotes({ lang: "sv", n: 60, seed: 1 })]);
    model = path.join(dir, "out", "site.model");
  });

  it("trains a model, writes its spec and prints the hash that `hash` prints", async () => {
    const r = await fedledger(
      "train",
      "--data",
      train,
      "--out",
      model,
      "--epochs",
      "2",
      "--dim",
      "8",
      "--json",
    );
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout);
    const bytes = await readFile(model);
    expect(summary.modelHash).to.equal(hashModelBytes(bytes));
    expect(summary.notes).to.equal(60);
    expect(summary.losses).to.have.length(2);
    const spec = JSON.parse(await readFile(`${model}.spec.json`, "utf8"));
    expect(spec).to.deep.include({ dim: 8 });
    expect(spec.training.epochs).to.equal(2);
    const h = await fedledger("hash", model);
    expect(h.code).to.equal(0);
    expect(h.stdout.trim()).to.equal(hashModelBytes(bytes));
  });

  it("evaluates without repeating hyperparameters: per-label, averages and a per-language table", async () => {
    const test = path.join(dir, "test.jsonl");
    await writeNotesJsonl(test, [
      generateNotes({ lang: "sv", n: 20, seed: 2 }),
      generateNotes({ lang: "fi", n: 10, seed: 2 }),
    ]);
    const json = await fedledger("evaluate", "--model", model, "--data", test, "--json");
    expect(json.code, json.stderr).to.equal(0);
    const metrics = JSON.parse(json.stdout);
    expect(metrics.n).to.equal(30);
    expect(metrics.perLabel).to.have.length(12);
    expect(Object.keys(metrics.byLang)).to.deep.equal(["fi", "sv"]);
    // The text report is the same metrics laid out as tables.
    const text = formatMetrics(metrics);
    expect(text).to.match(/^label +support precision recall +F1$/m);
    expect(text).to.match(/^macro /m);
    expect(text).to.match(/^fi +10 /m);
  });

  it("predicts JSONL with scores and evidence, detecting the language when a line has none", async () => {
    const input = path.join(dir, "input.jsonl");
    const output = path.join(dir, "predictions.jsonl");
    await writeFile(
      input,
      [
        JSON.stringify({ id: "a", text: "Patienten har pacemaker sedan 2015. Inga allergier.", lang: "sv" }),
        JSON.stringify({ id: "b", text: "Potilaalla on sydämentahdistin. Ei lääkeallergioita." }),
        "",
      ].join("\n"),
    );
    const r = await fedledger("predict", "--model", model, "--input", input, "--output", output);
    expect(r.code, r.stderr).to.equal(0);
    const lines = (await readFile(output, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).to.deep.equal(["a", "b"]);
    expect(lines[1].lang).to.equal("fi");
    for (const p of lines) {
      expect(p).to.have.all.keys("id", "lang", "implant", "categories", "adr", "scores", "evidence");
      expect(Object.keys(p.scores)).to.have.length(12);
      expect(p.implant).to.equal(p.categories.length > 0);
      expect(p.evidence).to.be.an("array");
      if (p.implant || p.adr) expect(p.evidence.length).to.be.greaterThan(0);
    }
  });

  it("exports to a LayersModel directory and imports it back to the same bytes", async () => {
    const out = path.join(dir, "tfjs");
    const back = path.join(dir, "back.model");
    expect((await fedledger("model", "export", "--model", model, "--out", out)).code).to.equal(0);
    const r = await fedledger("model", "import", "--dir", out, "--out", back);
    expect(r.code, r.stderr).to.equal(0);
    expect(hashModelBytes(await readFile(back))).to.equal(hashModelBytes(await readFile(model)));
  });

  it("fails with one clear line for a missing file, a non-model file, bad flags and bad input", async () => {
    const oneLine = (r: Result) => {
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.not.match(/\n\s+at /);
    };
    const missing = await fedledger("evaluate", "--model", path.join(dir, "nope.model"), "--data", train);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/^error: cannot read model .*nope\.model: no such file/);
    oneLine(missing);

    const notModel = await fedledger("hash", train);
    expect(notModel.code).to.equal(1);
    expect(notModel.stderr).to.match(
      /^error: not a valid fedledger model file: it does not start with "FLM1"/,
    );
    oneLine(notModel);

    const badFlag = await fedledger("train", "--data", train, "--out", model, "--epochs", "two");
    expect(badFlag.code).to.equal(2);
    expect(badFlag.stderr).to.match(
      /--epochs <n>' argument 'two' is invalid. expected a whole number from 1 to 1000/,
    );

    const badInput = path.join(dir, "bad.jsonl");
    await writeFile(badInput, `${JSON.stringify({ id: "x", text: "ok" })}\n{"id": "y", "text": 5}\n`);
    const bad = await fedledger(
      "predict",
      "--model",
      model,
      "--input",
      badInput,
      "--output",
      path.join(dir, "o.jsonl"),
    );
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/bad\.jsonl:2/);
  });
});
