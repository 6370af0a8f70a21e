/**
 * The driver closes a round early only when the ledger allows it (`canCloseEarly`): every Active site committed
 * and no site left since the round opened. A site suspended after committing does not make the round look
 * complete: the driver waits for the deadline without sending a finalisation the ledger would refuse, then
 * finalises without the suspended site's update.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import type { Logger } from "../../node/aggregator/log";
import { type AggregatorService } from "../../node/aggregator/service";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import {
  commitAndSign,
  createTask,
  deltaFor,
  deployConsortium,
  genesisFor,
  tinySpec,
  until,
  upload,
  startTestAggregator,
} from "./fixture";

describe("aggregator driver: early close after a site is suspended mid-round", function () {
  const spec = tinySpec();
  const genesis = genesisFor(spec);
  const chainId = 31337n;
  let sites: Signer[];
  let registry: ConsortiumRegistry;
  let ledger: TrainingLedger;
  let task: bigint;
  let dir: string;
  let service: AggregatorService | undefined;
  const logged: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = (level, event, fields) => logged.push({ level, event, fields });

  before(async function () {
    const signers = await ethers.getSigners();
    const [admin, , , aggregator] = signers;
    sites = signers.slice(5, 8);
    ({ registry, ledger } = await deployConsortium(admin, await aggregator.getAddress(), sites));
    task = await createTask(ledger, spec, genesis, { minSites: 1, windowSeconds: 3600, rounds: 1 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-early-"));
    service = await startTestAggregator({
      ledger: ledger.connect(aggregator),
      registry,
      taskId: task,
      spec,
      genesis,
      store: dir,
      log,
    });
  });

  after(async function () {
    await service?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("waits for the deadline instead of retrying a refused finalisation, then leaves the suspended site out", async function () {
    await until("round 1 open", async () =>
      (await ledger.getRound(task, 1)).status === 1n ? true : undefined,
    );
    const url = (service as AggregatorService).url;
    for (const i of [0, 1]) {
      const u = await commitAndSign(sites[i], ledger, chainId, task, 1, deltaFor(spec, i + 1), 10n, {
        loss: 1,
      });
      await upload(url, task, 1, u);
    }
    const suspended = await sites[0].getAddress();
    await (await registry.suspendSite(suspended, ethers.id("misbehaved"))).wait();

    // Two commits and two Active sites: counting commits alone would call the round complete.
    expect(await registry.activeSiteCount()).to.equal(2n);
    expect((await ledger.getRound(task, 1)).commitCount).to.equal(2n);
    expect(await ledger.canCloseEarly(task, 1)).to.equal(false);
    const before = logged.length;
    await new Promise((r) => setTimeout(r, 600)); // about 30 driver steps
    expect((await ledger.getRound(task, 1)).status, "still open before the deadline").to.equal(1n);
    const failures = logged.slice(before).filter((e) => e.level === "error");
    expect(failures, JSON.stringify(failures)).to.deep.equal([]);

    await time.increase(3601);
    const round = await until("round 1 finalised", async () => {
      const r = await ledger.getRound(task, 1);
      return r.status === 2n ? r : undefined;
    });
    expect(round.includedCount).to.equal(1n);
    expect(await ledger.hasCommitted(task, 1, suspended)).to.equal(true);
  });
});
