import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { buildProgram } from "../../node/cli/main";
import { UsageError } from "../../node/errors";
import { loadNotes } from "../../node/text/corpus";

/** Runs `fedledger <args>` in-process and returns what it printed on stdout. */
async function run(args: string[]): Promise<string> {
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildProgram().parseAsync(["node", "fedledger", ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

async function usageError(args: string[]): Promise<string> {
  try {
    await run(args);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as UsageError).toLine();
  }
  expect.fail(`fedledger ${args.join(" ")} should fail`);
}

describe("fedledger data", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "fedledger-data-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("generates JSONL that the loader reads back, deterministically", async () => {
    const a = path.join(dir, "a.jsonl");
    const b = path.join(dir, "b.jsonl");
    const printed = await run(["data", "generate", "--lang", "et", "--n", "250", "--seed", "9", "--out", a]);
    expect(printed).to.match(/wrote:\s+250 notes/);
    await run([
      "data",
      "generate",
      "--lang",
      "et",
      "--n",
      "250",
      "--seed",
      "9",
      "--out",
      b,
      "--profile",
      "default",
    ]);
    expect(readFileSync(a, "utf8")).to.equal(readFileSync(b, "utf8"));
    const notes = await loadNotes([a]);
    expect(notes).to.have.length(250);
    expect(notes[0]).to.have.keys(["id", "lang", "text", "labels", "meta"]);
    const summary = JSON.parse(await run(["data", "validate", a, "--json"]));
    expect(summary).to.deep.include({ notes: 250, skipped: 0 });
    expect(summary.byLang).to.deep.equal({ et: 250 });
  });

  it("validates its flags with one-line messages", async () => {
    const out = path.join(dir, "x.jsonl");
    const base = ["data", "generate", "--n", "5", "--seed", "1"];
    expect(await usageError([...base, "--lang", "no", "--out", out])).to.match(
      /unknown language "no".*nb, sv, da, fi, et/,
    );
    expect(await usageError([...base, "--lang", "en", "--out", out])).to.match(/unknown language "en"/);
    expect(
      await usageError(["data", "generate", "--lang", "nb", "--n", "0", "--seed", "1", "--out", out]),
    ).to.match(/--n must be a whole number from 1 to 10000000/);
    expect(
      await usageError(["data", "generate", "--lang", "nb", "--n", "1e3", "--seed", "1", "--out", out]),
    ).to.match(/--n must be/);
    expect(
      await usageError(["data", "generate", "--lang", "nb", "--n", "20000000", "--seed", "1", "--out", out]),
    ).to.match(/--n must be/);
    expect(
      await usageError(["data", "generate", "--lang", "nb", "--n", "5", "--seed", "-1", "--out", out]),
    ).to.match(/--seed must be/);
    expect(
      await usageError([...base, "--lang", "nb", "--out", path.join(dir, "missing", "x.jsonl")]),
    ).to.match(/output directory .*missing does not exist/);
    expect(await usageError([...base, "--lang", "nb", "--out", path.join(dir, "x.csv")])).to.match(/\.jsonl/);
    expect(await usageError([...base, "--lang", "nb", "--out", out, "--profile", "busy"])).to.match(
      /unknown profile/,
    );
    expect(await usageError([...base, "--lang", "nb", "--out", out, "--split", "test"])).to.match(
      /unknown --split/,
    );
  });

  it("explains context marks", async () => {
    expect(await run(["data", "explain", "Ei tahdistinta mutta ICD-laite.", "--lang", "fi"])).to.equal(
      "ei neg:tahdistinta mutta icd-laite .\n",
    );
  });
});
