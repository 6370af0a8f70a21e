/**
 * End to end through real processes: secure aggregation with a site killed after sharing its keys and before
 * uploading. The two survivors' masked updates are summed, the dropped site's pairwise masks are rebuilt from
 * the survivors' shares, and the round is finalised with the unmasking material's hash on the chain. The test
 * then re-does the auditor's recomputation from the chain and the store alone (the material against its
 * on-chain hash, each masked update against its commit) and gets the recorded model's bytes; and it checks that
 * no update the aggregator stored is an unmasked one.
 */
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { getAddress } from "ethers";
import { getRoundInfo } from "../../node/chain/tasks";
import { commitLeaf } from "../../node/fl";
import { hashModelBytes } from "../../node/model/format";
import { parseLogEvent } from "../../node/demo/processes";
import { DemoSession } from "../../node/demo/session";
import {
  aggregateMasked,
  checkMaterial,
  parseMaterial,
  readMasked,
  type SecAggContext,
} from "../../node/secagg";
import { ContentStore } from "../../node/store";
import { expectedTensors } from "../../node/model/params";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import { CapturedOutput, smallDemoSettings } from "./helpers";

describe("e2e: secure aggregation with a dropped site", function () {
  this.timeout(240_000);
  const chain = useEmbeddedChain();
  let dir: string;
  let output: CapturedOutput;

  before(async function () {
    dir = await makeTempDir("fedledger-e2e-secagg-");
    output = new CapturedOutput();
  });
  after(async function () {
    await removeTempDir(dir);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(output.text);
  });

  it("finalises from two survivors' masked updates, binds the material on the chain, and the recomputation gives the model", async function () {
    const settings = smallDemoSettings({
      out: `${dir}/demo`,
      rpc: chain().url,
      rounds: 1,
      commitWindowSeconds: 20,
      secureAggregation: true,
      dropSite: { index: 3, stage: "upload" },
    });
    const session = await DemoSession.prepare(settings, { stdout: output });
    try {
      await session.startAggregator();
      for (const site of session.sites) session.startSite(site);
      await session.follow((s) => s.done);
      expect([...session.dropped]).to.deep.equal(["site-03-da"]);

      const { ledger, taskId } = session;
      const round = await getRoundInfo(ledger, taskId, 1);
      expect(round.status).to.equal("Finalized");
      expect(round.includedCount).to.equal(2);
      const [unmasked] = await ledger.queryFilter(ledger.filters.RoundUnmasked(taskId, 1));
      expect(unmasked, "a RoundUnmasked event").to.not.equal(undefined);

      // The auditor's recomputation, from the chain and the store only.
      const store = await ContentStore.open(session.layout.store);
      const materialBytes = await store.get(unmasked.args.unmaskingHash);
      expect(materialBytes, "the material is stored under its on-chain hash").to.not.equal(undefined);
      const parsed = parseMaterial(JSON.parse((materialBytes as Buffer).toString("utf8")));
      if (!parsed.ok) throw new Error(parsed.problem);
      const material = parsed.value;
      const context: SecAggContext = {
        chainId: (await session.provider.getNetwork()).chainId,
        ledger: await ledger.getAddress(),
        taskId,
        round: 1,
      };
      checkMaterial(context, material);
      const site3 = session.sites.find((s) => s.index === 3);
      expect(material.dropped).to.deep.equal([getAddress(site3?.address as string)]);
      expect(material.survivors).to.have.length(2);

      const inputs = [];
      const layout = expectedTensors(session.spec);
      for (const site of material.survivors) {
        const record = await store.getUpload(taskId, 1, site);
        if (!record) throw new Error(`no upload of ${site}`);
        expect(await ledger.commitLeaf(taskId, 1, site)).to.equal(
          commitLeaf(site, record.updateHash, BigInt(record.numSamples)),
        );
        const bytes = (await store.get(record.updateHash)) as Buffer;
        inputs.push({ site, numSamples: BigInt(record.numSamples), bytes });
        // What the aggregator holds of a site looks uniform: an unmasked update would be mostly small words.
        const words = new Int32Array(readMasked(bytes, layout, 2).buffer);
        const small = words.filter((w) => Math.abs(w) < 2 ** 24).length / words.length;
        expect(small, `share of small words in the stored update of ${site}`).to.be.below(0.05);
      }
      // No site's plaintext delta left it: the hash each site logged for its trained delta names no object in the
      // aggregator's store, no commit on the chain, and appears nowhere in the aggregator's log.
      const plaintextHashes: string[] = [];
      for (const site of session.sites) {
        const log = await readFile(path.join(session.layout.logsDir, `${site.id}.log`), "utf8");
        for (const line of log.split("\n")) {
          const event = parseLogEvent(line);
          if (event?.event === "trained") plaintextHashes.push(String(event.updateHash));
        }
      }
      expect(plaintextHashes.length, "each site that trained logged its delta's hash").to.be.at.least(2);
      const aggregatorLog = await readFile(path.join(session.layout.logsDir, "aggregator.log"), "utf8");
      const commits = await ledger.queryFilter(ledger.filters.UpdateCommitted(taskId));
      for (const h of plaintextHashes) {
        expect(await store.has(h), `object ${h}`).to.equal(false);
        expect(aggregatorLog.includes(h.slice(2))).to.equal(false);
        expect(commits.some((c) => c.args.updateHash.toLowerCase() === h.toLowerCase())).to.equal(false);
      }

      const parent = (await store.get(round.baseModelHash)) as Buffer;
      const model = aggregateMasked(context, session.spec.secureAggregation!, 2, parent, material, inputs);
      expect(hashModelBytes(model)).to.equal(round.modelHash.toLowerCase());

      // The auditor's CLI does the same from the model file, and fails on a store whose material is damaged.
      await session.saveFinalModel();
      const verify = (store: string) =>
        runCli(
          [
            "audit",
            "verify",
            "--model",
            session.layout.finalModel,
            "--rpc",
            chain().url,
            "--deployment",
            session.layout.deployment,
            "--store",
            store,
            "--json",
          ],
          { timeoutMs: 90_000 },
        );
      const passed = await verify(session.layout.store);
      expect(passed.code, `audit output:\n${passed.stdout}\n${passed.stderr}`).to.equal(0);
      const damaged = `${dir}/damaged-store`;
      await cp(session.layout.store, damaged, { recursive: true });
      const materialFile = path.join(damaged, "objects", unmasked.args.unmaskingHash.slice(2).toLowerCase());
      await writeFile(
        materialFile,
        (materialBytes as Buffer).toString("utf8").replace('"version":1', '"version":2'),
      );
      const failed = await verify(damaged);
      expect(failed.code).to.equal(1);
      const report = JSON.parse(failed.stdout) as { firstBrokenLink: { code: string } };
      expect(report.firstBrokenLink.code).to.equal("unmasking_material_missing");
    } finally {
      await session.close();
    }
  });
});
