import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import { TrainingLedger__factory } from "../../typechain-types";
import type { TrainingLedger } from "../../typechain-types";
import {
  Role,
  RoundStatus,
  hashOf,
  ledgerFixture,
  openRoundFixture,
  proposeSite,
  quorumLedgerFixture,
} from "./fixtures";

const LEAF_TYPES = ["address", "bytes32", "uint64"];
const coder = ethers.AbiCoder.defaultAbiCoder();

async function blockOf(
  tx: Promise<ContractTransactionResponse>,
): Promise<{ number: bigint; timestamp: bigint }> {
  const block = await (await tx).getBlock();
  if (!block) throw new Error("transaction has no block");
  return { number: BigInt(block.number), timestamp: BigInt(block.timestamp) };
}

/** Each site in `sites` commits to update `u<i>` with `100 * (i + 1)` samples in `round` of task 1. */
async function commitAll(ledger: TrainingLedger, sites: HardhatEthersSigner[], round = 1) {
  const commits: [string, string, bigint][] = [];
  for (const [i, site] of sites.entries()) {
    const entry: [string, string, bigint] = [site.address, hashOf(`r${round} u${i}`), BigInt(100 * (i + 1))];
    await ledger.connect(site).commitUpdate(1, round, entry[1], entry[2], hashOf(`metrics ${i}`));
    commits.push(entry);
  }
  return commits;
}

describe("TrainingLedger", function () {
  describe("deployment", function () {
    it("points at the registry and rejects the zero address", async function () {
      const { ledger, registry, admins } = await loadFixture(ledgerFixture);
      expect(await ledger.registry()).to.equal(await registry.getAddress());
      const factory = new TrainingLedger__factory(admins[0]);
      await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "LedgerZeroRegistry",
      );
      expect(await ledger.AGGREGATION_FEDAVG()).to.equal(1n);
      expect(await ledger.ABORT_TOO_FEW_COMMITS()).to.equal(1n);
      expect(await ledger.ABORT_TOO_FEW_VALID_UPDATES()).to.equal(2n);
      expect(await ledger.ABORT_UNMASKING_FAILED()).to.equal(3n);
    });
  });

  describe("createTask", function () {
    it("at quorum 1 proposes, approves and creates in one call, and records the genesis as round 0", async function () {
      const { ledger, admins, task } = await loadFixture(ledgerFixture);
      const spec = hashOf("second spec");
      const genesis = hashOf("second genesis");
      expect(await ledger.connect(admins[1]).createTask.staticCall(spec, genesis, 1, 3, 600, 10)).to.equal(
        2n,
      );
      const id = await ledger.taskProposalId(spec, genesis, 1, 3, 600, 10);
      const tx = ledger.connect(admins[1]).createTask(spec, genesis, 1, 3, 600, 10);
      await expect(tx)
        .to.emit(ledger, "TaskProposed")
        .withArgs(id, admins[1].address, genesis, spec, 1, 3, 600, 10);
      await expect(tx).to.emit(ledger, "TaskApproved").withArgs(id, admins[1].address, 2, 1, 1);
      await expect(tx)
        .to.emit(ledger, "TaskCreated")
        .withArgs(2, admins[1].address, spec, genesis, 1, 3, 600, 10);
      // Nothing is left pending.
      expect((await ledger.getTaskProposal(id)).proposer).to.equal(ethers.ZeroAddress);
      await expect(ledger.connect(admins[0]).approveTask(id))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTaskProposal")
        .withArgs(id);
      const { number } = await blockOf(tx);
      expect(await ledger.taskCount()).to.equal(2n);
      const stored = await ledger.getTask(2);
      expect(stored.creator).to.equal(admins[1].address);
      expect([stored.specHash, stored.genesisModelHash, stored.latestModelHash]).to.deep.equal([
        spec,
        genesis,
        genesis,
      ]);
      expect([stored.aggregationRule, stored.minSitesPerRound, stored.commitWindowSeconds]).to.deep.equal([
        1n,
        3n,
        600n,
      ]);
      expect([stored.roundsPlanned, stored.currentRound, stored.createdAtBlock]).to.deep.equal([
        10n,
        0n,
        number,
      ]);
      expect(await ledger.isRecorded(genesis)).to.equal(true);
      expect(await ledger.getProvenance(genesis)).to.deep.equal([
        2n,
        0n,
        ethers.ZeroHash,
        ethers.ZeroHash,
        number,
      ]);
      expect((await ledger.getProvenance(task.genesis))[0]).to.equal(1n);
    });

    it("refuses a genesis that is already recorded, as a task's genesis or as a round's model", async function () {
      const { ledger, admins, aggregator, sites, task } = await loadFixture(ledgerFixture);
      await expect(ledger.connect(admins[0]).createTask(hashOf("other"), task.genesis, 1, 1, 60, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerGenesisAlreadyRecorded")
        .withArgs(task.genesis, 1, 0);
      await ledger.connect(aggregator).openRound(1, task.genesis);
      await commitAll(ledger, sites);
      await ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m1"), hashOf("root"), 3, ethers.ZeroHash);
      await expect(ledger.connect(admins[1]).createTask(hashOf("other"), hashOf("m1"), 1, 1, 60, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerGenesisAlreadyRecorded")
        .withArgs(hashOf("m1"), 1, 1);
      expect(await ledger.taskCount()).to.equal(1n);
    });

    it("rejects a caller who is not an admin", async function () {
      const { ledger, aggregator } = await loadFixture(ledgerFixture);
      await expect(ledger.connect(aggregator).createTask(hashOf("s"), hashOf("g"), 1, 1, 60, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAdmin")
        .withArgs(aggregator.address);
    });

    const good = [hashOf("s"), hashOf("g"), 1, 1, 60, 1] as const;
    const names = [
      "specHash",
      "genesisModelHash",
      "aggregationRule",
      "minSitesPerRound",
      "commitWindowSeconds",
      "roundsPlanned",
    ];
    for (const [index, name] of names.entries()) {
      it(`rejects a zero ${name}`, async function () {
        const { ledger, admins } = await loadFixture(ledgerFixture);
        const args = [...good] as [string, string, number, number, number, number];
        (args as unknown[])[index] = index < 2 ? ethers.ZeroHash : 0;
        await expect(ledger.connect(admins[0]).createTask(...args))
          .to.be.revertedWithCustomError(ledger, "LedgerInvalidTaskParameter")
          .withArgs(name);
      });
    }
  });

  describe("task proposals at quorum 2", function () {
    it("proposes without creating; the second admin's approval creates the task", async function () {
      const { ledger, admins, task } = await loadFixture(quorumLedgerFixture);
      const id = await ledger.taskProposalId(...task);
      expect(await ledger.connect(admins[0]).createTask.staticCall(...task)).to.equal(0n);
      const proposal = ledger.connect(admins[0]).createTask(...task);
      await expect(proposal)
        .to.emit(ledger, "TaskProposed")
        .withArgs(id, admins[0].address, task[1], task[0], 1, 1, 600, 2);
      await expect(proposal).to.emit(ledger, "TaskApproved").withArgs(id, admins[0].address, 0, 1, 2);
      await expect(proposal).not.to.emit(ledger, "TaskCreated");
      expect(await ledger.taskCount()).to.equal(0n);
      expect(await ledger.isRecorded(task[1])).to.equal(false);
      const pending = await ledger.getTaskProposal(id);
      expect([
        pending.ballot.approvals,
        pending.proposer,
        pending.specHash,
        pending.genesisModelHash,
      ]).to.deep.equal([1n, admins[0].address, task[0], task[1]]);
      expect([
        pending.aggregationRule,
        pending.minSitesPerRound,
        pending.commitWindowSeconds,
        pending.roundsPlanned,
      ]).to.deep.equal([1n, 1n, 600n, 2n]);
      expect(await ledger.hasApprovedTask(id, admins[0].address)).to.equal(true);
      expect(await ledger.hasApprovedTask(id, admins[1].address)).to.equal(false);

      expect(await ledger.connect(admins[1]).approveTask.staticCall(id)).to.equal(1n);
      const approval = ledger.connect(admins[1]).approveTask(id);
      await expect(approval).to.emit(ledger, "TaskApproved").withArgs(id, admins[1].address, 1, 2, 2);
      // The proposer is the task's creator; the approvals are in the TaskApproved events.
      await expect(approval)
        .to.emit(ledger, "TaskCreated")
        .withArgs(1, admins[0].address, task[0], task[1], 1, 1, 600, 2);
      expect((await ledger.getTask(1)).creator).to.equal(admins[0].address);
      expect((await ledger.getProvenance(task[1]))[0]).to.equal(1n);
      // The carried-out proposal is gone and cannot be approved again.
      expect((await ledger.getTaskProposal(id)).proposer).to.equal(ethers.ZeroAddress);
      expect(await ledger.hasApprovedTask(id, admins[0].address)).to.equal(false);
      await expect(ledger.connect(admins[2]).approveTask(id))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTaskProposal")
        .withArgs(id);
    });

    it("counts the same parameters proposed by a second admin as an approval", async function () {
      const { ledger, admins, task } = await loadFixture(quorumLedgerFixture);
      await ledger.connect(admins[0]).createTask(...task);
      const tx = ledger.connect(admins[2]).createTask(...task);
      await expect(tx).not.to.emit(ledger, "TaskProposed");
      await expect(tx)
        .to.emit(ledger, "TaskCreated")
        .withArgs(1, admins[0].address, task[0], task[1], 1, 1, 600, 2);
    });

    it("counts an admin's approval once, and only an admin's", async function () {
      const { ledger, admins, outsider, task } = await loadFixture(quorumLedgerFixture);
      await ledger.connect(admins[0]).createTask(...task);
      const id = await ledger.taskProposalId(...task);
      await expect(ledger.connect(admins[0]).approveTask(id))
        .to.be.revertedWithCustomError(ledger, "LedgerAlreadyApproved")
        .withArgs(admins[0].address, id);
      await expect(ledger.connect(admins[0]).createTask(...task))
        .to.be.revertedWithCustomError(ledger, "LedgerAlreadyApproved")
        .withArgs(admins[0].address, id);
      await expect(ledger.connect(outsider).approveTask(id))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAdmin")
        .withArgs(outsider.address);
      expect(await ledger.hasApprovedTask(id, outsider.address)).to.equal(false);
      await expect(ledger.connect(admins[1]).approveTask(hashOf("no such proposal")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTaskProposal")
        .withArgs(hashOf("no such proposal"));
      expect((await ledger.getTaskProposal(id)).ballot.approvals).to.equal(1n);
    });

    it("drops pending approvals when the quorum or the admin set changes", async function () {
      const { ledger, registry, admins, signers, task } = await loadFixture(quorumLedgerFixture);
      await ledger.connect(admins[0]).createTask(...task);
      const before = await ledger.taskProposalId(...task);
      // The quorum goes to 3 and back to 2: two epoch steps, the same quorum as when the proposal was made.
      await registry.connect(admins[1]).voteQuorum(3);
      await registry.connect(admins[2]).voteQuorum(3);
      for (const admin of admins) await registry.connect(admin).voteQuorum(2);
      const afterQuorum = await ledger.taskProposalId(...task);
      expect(afterQuorum).not.to.equal(before);
      await expect(ledger.connect(admins[1]).approveTask(before))
        .to.be.revertedWithCustomError(ledger, "LedgerStaleTaskProposal")
        .withArgs(before, afterQuorum);
      // Proposing again starts from zero approvals: one is not enough at quorum 2.
      await expect(ledger.connect(admins[0]).createTask(...task))
        .to.emit(ledger, "TaskApproved")
        .withArgs(afterQuorum, admins[0].address, 0, 1, 2);
      // A new admin moves the epoch too.
      await registry.connect(admins[0]).voteRole(Role.ADMIN, signers[20].address, true);
      await registry.connect(admins[1]).voteRole(Role.ADMIN, signers[20].address, true);
      const afterAdmin = await ledger.taskProposalId(...task);
      await expect(ledger.connect(admins[1]).approveTask(afterQuorum))
        .to.be.revertedWithCustomError(ledger, "LedgerStaleTaskProposal")
        .withArgs(afterQuorum, afterAdmin);
      expect(await ledger.taskCount()).to.equal(0n);
    });

    it("refuses, at execution, a genesis another proposal recorded in the meantime", async function () {
      const { ledger, admins, task } = await loadFixture(quorumLedgerFixture);
      const rival = [hashOf("rival spec"), task[1], 1, 2, 60, 1] as const;
      await ledger.connect(admins[0]).createTask(...task);
      await ledger.connect(admins[1]).createTask(...rival);
      await ledger.connect(admins[1]).approveTask(await ledger.taskProposalId(...task));
      const rivalId = await ledger.taskProposalId(...rival);
      await expect(ledger.connect(admins[0]).approveTask(rivalId))
        .to.be.revertedWithCustomError(ledger, "LedgerGenesisAlreadyRecorded")
        .withArgs(task[1], 1, 0);
      expect(await ledger.taskCount()).to.equal(1n);
    });

    it("refuses, at execution, a genesis that a round recorded as its model in the meantime", async function () {
      const { ledger, admins, aggregator, sites, task } = await loadFixture(quorumLedgerFixture);
      await ledger.connect(admins[0]).createTask(...task);
      await ledger.connect(admins[1]).createTask(...task);
      await ledger.connect(aggregator).openRound(1, task[1]);
      for (const [i, site] of sites.entries())
        await ledger.connect(site).commitUpdate(1, 1, hashOf(`u${i}`), 10, ethers.ZeroHash);
      // An admin proposes a task whose genesis is the model round 1 will produce.
      const model = hashOf("round 1 model");
      const squatter = [hashOf("squatter spec"), model, 1, 1, 60, 1] as const;
      await ledger.connect(admins[2]).createTask(...squatter);
      await expect(
        ledger.connect(aggregator).finalizeRound(1, 1, model, hashOf("root"), 2, ethers.ZeroHash),
      ).to.emit(ledger, "RoundFinalized");
      await expect(ledger.connect(admins[0]).approveTask(await ledger.taskProposalId(...squatter)))
        .to.be.revertedWithCustomError(ledger, "LedgerGenesisAlreadyRecorded")
        .withArgs(model, 1, 1);
    });

    it("computes proposal ids as documented", async function () {
      const { ledger, registry, task } = await loadFixture(quorumLedgerFixture);
      const parameters = ethers.keccak256(
        coder.encode(["bytes32", "bytes32", "uint16", "uint16", "uint32", "uint16"], [...task]),
      );
      const expected = ethers.keccak256(
        coder.encode(
          ["uint8", "address", "bytes32", "uint256", "uint256"],
          [4, await ledger.getAddress(), parameters, 0, await registry.epoch()],
        ),
      );
      expect(await ledger.taskProposalId(...task)).to.equal(expected);
    });
  });

  describe("openRound", function () {
    it("opens round 1 from the genesis with a deadline one window ahead", async function () {
      const { ledger, aggregator, task } = await loadFixture(ledgerFixture);
      expect(await ledger.connect(aggregator).openRound.staticCall(1, task.genesis)).to.equal(1n);
      const tx = ledger.connect(aggregator).openRound(1, task.genesis);
      const { number, timestamp } = await blockOf(tx);
      const deadline = timestamp + BigInt(task.window);
      await expect(tx).to.emit(ledger, "RoundOpened").withArgs(1, 1, task.genesis, deadline);
      const round = await ledger.getRound(1, 1);
      expect(round.status).to.equal(RoundStatus.Open);
      expect([round.minSitesPerRound, round.commitCount, round.includedCount]).to.deep.equal([2n, 0n, 0n]);
      expect([round.deadline, round.openedAtBlock]).to.deep.equal([deadline, number]);
      expect([round.baseModelHash, round.updatesRoot, round.modelHash]).to.deep.equal([
        task.genesis,
        ethers.ZeroHash,
        ethers.ZeroHash,
      ]);
      expect((await ledger.getTask(1)).currentRound).to.equal(1n);
    });

    it("rejects a non-aggregator, an unknown task, an open previous round and a wrong base", async function () {
      const { ledger, aggregator, admins, task } = await loadFixture(ledgerFixture);
      await expect(ledger.connect(admins[0]).openRound(1, task.genesis))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAggregator")
        .withArgs(admins[0].address);
      await expect(ledger.connect(aggregator).openRound(7, task.genesis))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(7);
      const wrong = hashOf("some other model");
      await expect(ledger.connect(aggregator).openRound(1, wrong))
        .to.be.revertedWithCustomError(ledger, "LedgerBaseModelMismatch")
        .withArgs(task.genesis, wrong);
      await ledger.connect(aggregator).openRound(1, task.genesis);
      await expect(ledger.connect(aggregator).openRound(1, task.genesis))
        .to.be.revertedWithCustomError(ledger, "LedgerPreviousRoundOpen")
        .withArgs(1, 1);
    });
  });

  describe("commitUpdate", function () {
    it("stores the Merkle leaf, counts the commit and emits the raw values", async function () {
      const { ledger, sites } = await loadFixture(openRoundFixture);
      const site = sites[0];
      const update = hashOf("update bytes");
      const metrics = hashOf("metrics");
      await expect(ledger.connect(site).commitUpdate(1, 1, update, 1234, metrics))
        .to.emit(ledger, "UpdateCommitted")
        .withArgs(1, 1, site.address, update, 1234, metrics);
      const leaf = StandardMerkleTree.of([[site.address, update, 1234n]], LEAF_TYPES).leafHash([
        site.address,
        update,
        1234n,
      ]);
      expect(await ledger.commitLeaf(1, 1, site.address)).to.equal(leaf);
      expect(await ledger.updateLeaf(site.address, update, 1234)).to.equal(leaf);
      expect(await ledger.hasCommitted(1, 1, site.address)).to.equal(true);
      expect(await ledger.hasCommitted(1, 1, sites[1].address)).to.equal(false);
      expect(await ledger.commitLeaf(1, 1, sites[1].address)).to.equal(ethers.ZeroHash);
      expect(await ledger.commitMatches(1, 1, site.address, update, 1234)).to.equal(true);
      expect(await ledger.commitMatches(1, 1, site.address, update, 1235)).to.equal(false);
      expect(await ledger.commitMatches(1, 1, site.address, hashOf("other"), 1234)).to.equal(false);
      expect(await ledger.commitMatches(1, 1, sites[1].address, update, 1234)).to.equal(false);
      expect((await ledger.getRound(1, 1)).commitCount).to.equal(1n);
    });

    it("accepts the largest sample count", async function () {
      const { ledger, sites } = await loadFixture(openRoundFixture);
      const max = 2n ** 64n - 1n;
      await ledger.connect(sites[0]).commitUpdate(1, 1, hashOf("u"), max, ethers.ZeroHash);
      expect(await ledger.commitMatches(1, 1, sites[0].address, hashOf("u"), max)).to.equal(true);
    });

    it("rejects callers that are not Active sites, including suspended ones", async function () {
      const { ledger, registry, admins, sites, outsider, spareSite } = await loadFixture(openRoundFixture);
      await expect(ledger.connect(outsider).commitUpdate(1, 1, hashOf("u"), 1, ethers.ZeroHash))
        .to.be.revertedWithCustomError(ledger, "LedgerNotActiveSite")
        .withArgs(outsider.address);
      await registry.connect(admins[0]).suspendSite(sites[2].address, hashOf("r"));
      await expect(ledger.connect(sites[2]).commitUpdate(1, 1, hashOf("u"), 1, ethers.ZeroHash))
        .to.be.revertedWithCustomError(ledger, "LedgerNotActiveSite")
        .withArgs(sites[2].address);
      // A site onboarded while the round is open may commit.
      await proposeSite(registry, admins[0], spareSite.address, 3);
      await expect(ledger.connect(spareSite).commitUpdate(1, 1, hashOf("u"), 1, ethers.ZeroHash)).to.emit(
        ledger,
        "UpdateCommitted",
      );
    });

    it("rejects a zero hash, zero samples and a second commit", async function () {
      const { ledger, sites } = await loadFixture(openRoundFixture);
      await expect(
        ledger.connect(sites[0]).commitUpdate(1, 1, ethers.ZeroHash, 1, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(ledger, "LedgerZeroHash");
      await expect(
        ledger.connect(sites[0]).commitUpdate(1, 1, hashOf("u"), 0, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(ledger, "LedgerZeroSamples");
      await ledger.connect(sites[0]).commitUpdate(1, 1, hashOf("u"), 5, ethers.ZeroHash);
      await expect(ledger.connect(sites[0]).commitUpdate(1, 1, hashOf("v"), 6, ethers.ZeroHash))
        .to.be.revertedWithCustomError(ledger, "LedgerAlreadyCommitted")
        .withArgs(1, 1, sites[0].address);
    });

    it("names the problem with the round: unknown task, unopened round, ended round, closed window", async function () {
      const { ledger, sites, aggregator } = await loadFixture(openRoundFixture);
      const commit = (task: number, round: number) =>
        ledger.connect(sites[0]).commitUpdate(task, round, hashOf("u"), 5, ethers.ZeroHash);
      await expect(commit(9, 1)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(9);
      await expect(commit(1, 2)).to.be.revertedWithCustomError(ledger, "LedgerWrongRound").withArgs(1, 2, 1);
      await expect(commit(1, 0)).to.be.revertedWithCustomError(ledger, "LedgerWrongRound").withArgs(1, 0, 1);
      const deadline = (await ledger.getRound(1, 1)).deadline;
      await time.increaseTo(deadline);
      await expect(commit(1, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerCommitWindowClosed")
        .withArgs(1, 1, deadline);
      await ledger.connect(aggregator).abortRound(1, 1, 1);
      await expect(commit(1, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerRoundNotOpen")
        .withArgs(1, 1, RoundStatus.Aborted);
    });
  });

  describe("finalizeRound", function () {
    it("finalises early once every Active site committed, and records provenance", async function () {
      const { ledger, aggregator, sites, task } = await loadFixture(openRoundFixture);
      const commits = await commitAll(ledger, sites);
      const tree = StandardMerkleTree.of(commits, LEAF_TYPES);
      const model = hashOf("model round 1");
      const metrics = hashOf("round metrics");
      const tx = ledger.connect(aggregator).finalizeRound(1, 1, model, tree.root, 3, metrics);
      await expect(tx)
        .to.emit(ledger, "RoundFinalized")
        .withArgs(1, 1, model, task.genesis, tree.root, 3, metrics);
      const { number } = await blockOf(tx);
      const round = await ledger.getRound(1, 1);
      expect(round.status).to.equal(RoundStatus.Finalized);
      expect([round.commitCount, round.includedCount]).to.deep.equal([3n, 3n]);
      expect([round.updatesRoot, round.modelHash]).to.deep.equal([tree.root, model]);
      expect((await ledger.getTask(1)).latestModelHash).to.equal(model);
      expect(await ledger.isRecorded(model)).to.equal(true);
      expect(await ledger.getProvenance(model)).to.deep.equal([1n, 1n, task.genesis, tree.root, number]);
    });

    it("waits for the deadline while some Active site has not committed", async function () {
      const { ledger, aggregator, sites } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites.slice(0, 2));
      const deadline = (await ledger.getRound(1, 1)).deadline;
      const finalize = () =>
        ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), hashOf("root"), 2, ethers.ZeroHash);
      await expect(finalize())
        .to.be.revertedWithCustomError(ledger, "LedgerRoundStillOpen")
        .withArgs(1, 1, deadline, 2, 3);
      await time.increaseTo(deadline);
      await expect(finalize()).to.emit(ledger, "RoundFinalized");
    });

    it("does not close early after a site that had committed was suspended while another has not committed", async function () {
      // The probe: 3 Active sites, 2 commit, one of those 2 is suspended; 2 commits now equal the 2 Active
      // sites, yet the third site (Active) has not committed.
      const { ledger, registry, admins, aggregator, sites } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites.slice(0, 2));
      await registry.connect(admins[0]).suspendSite(sites[0].address, hashOf("r"));
      expect(await registry.activeSiteCount()).to.equal(2n);
      expect(await ledger.canCloseEarly(1, 1)).to.equal(false);
      const deadline = (await ledger.getRound(1, 1)).deadline;
      const finalize = () =>
        ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), hashOf("root"), 2, ethers.ZeroHash);
      await expect(finalize())
        .to.be.revertedWithCustomError(ledger, "LedgerSiteLeftDuringRound")
        .withArgs(1, 1, deadline);
      expect((await ledger.getRound(1, 1)).status).to.equal(RoundStatus.Open);
      // The third site can still commit; at the deadline the round closes as usual.
      await ledger.connect(sites[2]).commitUpdate(1, 1, hashOf("late"), 5, ethers.ZeroHash);
      await time.increaseTo(deadline);
      expect(await ledger.canCloseEarly(1, 1)).to.equal(false);
      await expect(finalize()).to.emit(ledger, "RoundFinalized");
    });

    it("waits for the deadline when a site that had not committed leaves during the round", async function () {
      const { ledger, registry, admins, aggregator, sites } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites.slice(0, 2));
      await registry.connect(admins[0]).suspendSite(sites[2].address, hashOf("r"));
      const deadline = (await ledger.getRound(1, 1)).deadline;
      const finalize = () =>
        ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), hashOf("root"), 2, ethers.ZeroHash);
      await expect(finalize())
        .to.be.revertedWithCustomError(ledger, "LedgerSiteLeftDuringRound")
        .withArgs(1, 1, deadline);
      await time.increaseTo(deadline);
      await expect(finalize()).to.emit(ledger, "RoundFinalized");
    });

    it("closes early when every Active site committed and no site left since the opening", async function () {
      const { ledger, registry, admins, aggregator, sites, task } = await loadFixture(ledgerFixture);
      // Suspended before the round opens, reinstated during it: neither stops the early close.
      await registry.connect(admins[0]).suspendSite(sites[2].address, hashOf("r"));
      await ledger.connect(aggregator).openRound(1, task.genesis);
      expect(await ledger.canCloseEarly(1, 1)).to.equal(false);
      await commitAll(ledger, sites.slice(0, 2));
      expect(await ledger.canCloseEarly(1, 1)).to.equal(true);
      await registry.connect(admins[0]).reinstateSite(sites[2].address);
      expect(await ledger.canCloseEarly(1, 1)).to.equal(false);
      await ledger.connect(sites[2]).commitUpdate(1, 1, hashOf("u2"), 5, ethers.ZeroHash);
      expect(await ledger.canCloseEarly(1, 1)).to.equal(true);
      await expect(
        ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), hashOf("root"), 3, ethers.ZeroHash),
      ).to.emit(ledger, "RoundFinalized");
      expect(await ledger.canCloseEarly(1, 1)).to.equal(false);
      expect(await ledger.canCloseEarly(1, 2)).to.equal(false);
    });

    it("is not blocked by a task whose genesis is the round's predictable model (the genesis-squatting attack)", async function () {
      const { ledger, admins, aggregator, auditor, sites, task } = await loadFixture(openRoundFixture);
      const commits = await commitAll(ledger, sites);
      const tree = StandardMerkleTree.of(commits, LEAF_TYPES);
      // The updates are committed and the rule is deterministic, so the round's model hash can be predicted;
      // one admin (quorum 1) creates a task with exactly that genesis before the aggregator finalises.
      const predicted = hashOf("round 1 model");
      await ledger.connect(admins[2]).createTask(hashOf("squatter spec"), predicted, 1, 1, 60, 1);
      expect(await ledger.getProvenance(predicted)).to.deep.include.members([2n, 0n]);
      const tx = ledger.connect(aggregator).finalizeRound(1, 1, predicted, tree.root, 3, ethers.ZeroHash);
      await expect(tx)
        .to.emit(ledger, "RoundFinalized")
        .withArgs(1, 1, predicted, task.genesis, tree.root, 3, ethers.ZeroHash);
      // The round's own record names its model, base and root; the hash keeps its first record.
      const round = await ledger.getRound(1, 1);
      expect([round.status, round.modelHash, round.baseModelHash, round.updatesRoot]).to.deep.equal([
        BigInt(RoundStatus.Finalized),
        predicted,
        task.genesis,
        tree.root,
      ]);
      expect((await ledger.getProvenance(predicted)).slice(0, 2)).to.deep.equal([2n, 0n]);
      expect((await ledger.getTask(1)).latestModelHash).to.equal(predicted);
      // Task 1 goes on from its model, and the model can be audited.
      await expect(ledger.connect(aggregator).openRound(1, predicted)).to.emit(ledger, "RoundOpened");
      await expect(ledger.connect(auditor).recordAudit(predicted, true, hashOf("report"))).to.emit(
        ledger,
        "ModelAudited",
      );
    });

    it("records a model hash seen before without stalling the round: its base, or an earlier round's model", async function () {
      const { ledger, aggregator, sites, task } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites);
      // A round whose aggregate equals its base (every update a no-op) still finalises.
      await expect(
        ledger.connect(aggregator).finalizeRound(1, 1, task.genesis, hashOf("root"), 3, ethers.ZeroHash),
      ).to.emit(ledger, "RoundFinalized");
      expect((await ledger.getRound(1, 1)).modelHash).to.equal(task.genesis);
      expect((await ledger.getProvenance(task.genesis)).slice(0, 2)).to.deep.equal([1n, 0n]);
      await ledger.connect(aggregator).openRound(1, task.genesis);
      await commitAll(ledger, sites, 2);
      await ledger.connect(aggregator).finalizeRound(1, 2, hashOf("m2"), hashOf("root"), 3, ethers.ZeroHash);
      await ledger.connect(aggregator).openRound(1, hashOf("m2"));
      await commitAll(ledger, sites, 3);
      await ledger.connect(aggregator).finalizeRound(1, 3, hashOf("m2"), hashOf("root"), 3, ethers.ZeroHash);
      expect((await ledger.getRound(1, 3)).modelHash).to.equal(hashOf("m2"));
      expect((await ledger.getProvenance(hashOf("m2"))).slice(0, 2)).to.deep.equal([1n, 2n]);
    });

    it("keeps the included count between the task minimum and the commits", async function () {
      const { ledger, aggregator, sites } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites);
      const finalize = (included: number) =>
        ledger
          .connect(aggregator)
          .finalizeRound(1, 1, hashOf("m"), hashOf("root"), included, ethers.ZeroHash);
      await expect(finalize(1))
        .to.be.revertedWithCustomError(ledger, "LedgerIncludedCountOutOfRange")
        .withArgs(1, 2, 3);
      await expect(finalize(4))
        .to.be.revertedWithCustomError(ledger, "LedgerIncludedCountOutOfRange")
        .withArgs(4, 2, 3);
      await expect(finalize(2)).to.emit(ledger, "RoundFinalized");
      expect((await ledger.getRound(1, 1)).includedCount).to.equal(2n);
    });

    it("rejects zero hashes, a non-aggregator and a round that is not open", async function () {
      const { ledger, aggregator, sites, outsider } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites);
      const finalize = (model: string, root: string, round = 1) =>
        ledger.connect(aggregator).finalizeRound(1, round, model, root, 3, ethers.ZeroHash);
      await expect(finalize(ethers.ZeroHash, hashOf("root"))).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroHash",
      );
      await expect(finalize(hashOf("m"), ethers.ZeroHash)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroHash",
      );
      await expect(
        ledger.connect(outsider).finalizeRound(1, 1, hashOf("m"), hashOf("root"), 3, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(ledger, "LedgerNotAggregator")
        .withArgs(outsider.address);
      await expect(finalize(hashOf("m"), hashOf("root"), 2))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongRound")
        .withArgs(1, 2, 1);
      await finalize(hashOf("m"), hashOf("root"));
      await expect(finalize(hashOf("m2"), hashOf("root")))
        .to.be.revertedWithCustomError(ledger, "LedgerRoundNotOpen")
        .withArgs(1, 1, RoundStatus.Finalized);
    });
  });

  describe("finalizeMaskedRound", function () {
    it("finalises as finalizeRound does and binds the unmasking material's hash in the same transaction", async function () {
      const { ledger, aggregator, sites, task } = await loadFixture(openRoundFixture);
      const commits = await commitAll(ledger, sites);
      const tree = StandardMerkleTree.of(commits, LEAF_TYPES);
      const model = hashOf("masked model");
      const metrics = hashOf("metrics");
      const material = hashOf("unmasking material");
      const tx = ledger.connect(aggregator).finalizeMaskedRound(1, 1, model, tree.root, 3, metrics, material);
      await expect(tx)
        .to.emit(ledger, "RoundFinalized")
        .withArgs(1, 1, model, task.genesis, tree.root, 3, metrics)
        .and.to.emit(ledger, "RoundUnmasked")
        .withArgs(1, 1, material);
      const round = await ledger.getRound(1, 1);
      expect(round.status).to.equal(RoundStatus.Finalized);
      expect(round.modelHash).to.equal(model);
      expect((await ledger.getTask(1)).latestModelHash).to.equal(model);
    });

    it("refuses a zero unmasking hash, a non-aggregator, an early close and a closed round", async function () {
      const { ledger, aggregator, auditor, sites } = await loadFixture(openRoundFixture);
      const finalize = (material: string, from = aggregator, included = 2) =>
        ledger
          .connect(from)
          .finalizeMaskedRound(1, 1, hashOf("m"), hashOf("root"), included, ethers.ZeroHash, material);
      await commitAll(ledger, sites.slice(0, 2));
      await expect(finalize(ethers.ZeroHash)).to.be.revertedWithCustomError(ledger, "LedgerZeroHash");
      await expect(finalize(hashOf("u"), auditor))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAggregator")
        .withArgs(auditor.address);
      const deadline = (await ledger.getRound(1, 1)).deadline;
      await expect(finalize(hashOf("u")))
        .to.be.revertedWithCustomError(ledger, "LedgerRoundStillOpen")
        .withArgs(1, 1, deadline, 2, 3);
      await time.increaseTo(deadline);
      await expect(finalize(hashOf("u"), aggregator, 3))
        .to.be.revertedWithCustomError(ledger, "LedgerIncludedCountOutOfRange")
        .withArgs(3, 2, 2);
      await expect(finalize(hashOf("u")))
        .to.emit(ledger, "RoundUnmasked")
        .withArgs(1, 1, hashOf("u"));
      await expect(finalize(hashOf("u")))
        .to.be.revertedWithCustomError(ledger, "LedgerRoundNotOpen")
        .withArgs(1, 1, RoundStatus.Finalized);
    });
  });

  describe("abortRound", function () {
    it("accepts reason 3, unmasking failed", async function () {
      const { ledger, aggregator, sites } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites.slice(0, 2));
      await time.increaseTo((await ledger.getRound(1, 1)).deadline);
      await expect(ledger.connect(aggregator).abortRound(1, 1, 3))
        .to.emit(ledger, "RoundAborted")
        .withArgs(1, 1, 2, 3);
    });

    it("aborts after the deadline; the next round starts from the same base", async function () {
      const { ledger, aggregator, sites, task } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites.slice(0, 1));
      await time.increaseTo((await ledger.getRound(1, 1)).deadline);
      await expect(ledger.connect(aggregator).abortRound(1, 1, 1))
        .to.emit(ledger, "RoundAborted")
        .withArgs(1, 1, 1, 1);
      const round = await ledger.getRound(1, 1);
      expect(round.status).to.equal(RoundStatus.Aborted);
      expect(round.modelHash).to.equal(ethers.ZeroHash);
      await expect(ledger.connect(aggregator).openRound(1, hashOf("anything else")))
        .to.be.revertedWithCustomError(ledger, "LedgerBaseModelMismatch")
        .withArgs(task.genesis, hashOf("anything else"));
      await expect(ledger.connect(aggregator).openRound(1, task.genesis))
        .to.emit(ledger, "RoundOpened")
        .withArgs(1, 2, task.genesis, (v: bigint) => v > 0n);
    });

    it("rejects an early abort, unknown reasons, a non-aggregator and a round that is not open", async function () {
      const { ledger, aggregator, auditor } = await loadFixture(openRoundFixture);
      const deadline = (await ledger.getRound(1, 1)).deadline;
      await expect(ledger.connect(aggregator).abortRound(1, 1, 2))
        .to.be.revertedWithCustomError(ledger, "LedgerDeadlineNotReached")
        .withArgs(1, 1, deadline);
      for (const reason of [0, 4, 255]) {
        await expect(ledger.connect(aggregator).abortRound(1, 1, reason))
          .to.be.revertedWithCustomError(ledger, "LedgerInvalidAbortReason")
          .withArgs(reason);
      }
      await expect(ledger.connect(auditor).abortRound(1, 1, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAggregator")
        .withArgs(auditor.address);
      await time.increaseTo(deadline);
      await expect(ledger.connect(aggregator).abortRound(1, 1, 2))
        .to.emit(ledger, "RoundAborted")
        .withArgs(1, 1, 0, 2);
      await expect(ledger.connect(aggregator).abortRound(1, 1, 2))
        .to.be.revertedWithCustomError(ledger, "LedgerRoundNotOpen")
        .withArgs(1, 1, RoundStatus.Aborted);
    });
  });

  describe("the round sequence", function () {
    it("chains rounds through finalised models and stops after the planned rounds", async function () {
      const { ledger, aggregator, sites, task } = await loadFixture(ledgerFixture);
      const models = [hashOf("model 1"), hashOf("model 2")];
      // Round 1 finalised, round 2 aborted, round 3 finalised from model 1.
      await ledger.connect(aggregator).openRound(1, task.genesis);
      await commitAll(ledger, sites, 1);
      await ledger.connect(aggregator).finalizeRound(1, 1, models[0], hashOf("root 1"), 3, ethers.ZeroHash);
      await expect(ledger.connect(aggregator).openRound(1, task.genesis))
        .to.be.revertedWithCustomError(ledger, "LedgerBaseModelMismatch")
        .withArgs(models[0], task.genesis);
      await ledger.connect(aggregator).openRound(1, models[0]);
      await time.increaseTo((await ledger.getRound(1, 2)).deadline);
      await ledger.connect(aggregator).abortRound(1, 2, 1);
      await ledger.connect(aggregator).openRound(1, models[0]);
      await commitAll(ledger, sites, 3);
      await ledger.connect(aggregator).finalizeRound(1, 3, models[1], hashOf("root 3"), 2, ethers.ZeroHash);

      expect((await ledger.getRound(1, 1)).modelHash).to.equal(models[0]);
      expect((await ledger.getRound(1, 2)).modelHash).to.equal(ethers.ZeroHash);
      expect((await ledger.getRound(1, 3)).modelHash).to.equal(models[1]);
      expect((await ledger.getRound(1, 3)).baseModelHash).to.equal(models[0]);
      expect((await ledger.getProvenance(models[1]))[2]).to.equal(models[0]);
      expect((await ledger.getProvenance(models[0]))[2]).to.equal(task.genesis);
      await expect(ledger.connect(aggregator).openRound(1, models[1]))
        .to.be.revertedWithCustomError(ledger, "LedgerAllRoundsDone")
        .withArgs(1, 3);
    });
  });

  describe("Merkle inclusion", function () {
    /** Round 1 with three commits, finalised with a tree over the first two. */
    async function includedFixture() {
      const base = await openRoundFixture();
      const commits = await commitAll(base.ledger, base.sites);
      const tree = StandardMerkleTree.of(commits.slice(0, 2), LEAF_TYPES);
      await time.increaseTo((await base.ledger.getRound(1, 1)).deadline);
      return { ...base, commits, tree };
    }

    it("is false before the round has a root", async function () {
      const { ledger, commits, tree } = await loadFixture(includedFixture);
      const [site, hash, samples] = commits[0];
      expect(await ledger.verifyUpdateIncluded(1, 1, site, hash, samples, tree.getProof(0))).to.equal(false);
    });

    it("verifies each included update and refuses altered samples, hash, site or proof", async function () {
      const { ledger, aggregator, commits, tree } = await loadFixture(includedFixture);
      await ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), tree.root, 2, ethers.ZeroHash);
      for (const [i, [site, hash, samples]] of commits.slice(0, 2).entries()) {
        expect(await ledger.verifyUpdateIncluded(1, 1, site, hash, samples, tree.getProof(i))).to.equal(true);
      }
      const [site, hash, samples] = commits[0];
      const proof = tree.getProof(0);
      expect(await ledger.verifyUpdateIncluded(1, 1, site, hash, samples + 1n, proof)).to.equal(false);
      expect(await ledger.verifyUpdateIncluded(1, 1, site, hashOf("other"), samples, proof)).to.equal(false);
      expect(await ledger.verifyUpdateIncluded(1, 1, commits[1][0], hash, samples, proof)).to.equal(false);
      expect(await ledger.verifyUpdateIncluded(1, 1, site, hash, samples, tree.getProof(1))).to.equal(false);
      expect(await ledger.verifyUpdateIncluded(1, 1, site, hash, samples, [])).to.equal(false);
      // The third site committed but was left out of the tree.
      const [left, leftHash, leftSamples] = commits[2];
      expect(await ledger.verifyUpdateIncluded(1, 1, left, leftHash, leftSamples, proof)).to.equal(false);
    });

    it("refuses a leaf in the tree that the site never committed", async function () {
      const { ledger, aggregator, commits, sites } = await loadFixture(includedFixture);
      // The aggregator's tree names an update sites[0] never committed.
      const forged: [string, string, bigint] = [sites[0].address, hashOf("forged"), 1n];
      const tree = StandardMerkleTree.of([forged, commits[1]], LEAF_TYPES);
      await ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), tree.root, 2, ethers.ZeroHash);
      expect(await ledger.verifyUpdateIncluded(1, 1, ...forged, tree.getProof(0))).to.equal(false);
      expect(await ledger.verifyUpdateIncluded(1, 1, ...commits[1], tree.getProof(1))).to.equal(true);
    });
  });

  describe("recordAudit", function () {
    it("records verdicts on round models and genesis models", async function () {
      const { ledger, aggregator, auditor, sites, task } = await loadFixture(openRoundFixture);
      await commitAll(ledger, sites);
      await ledger.connect(aggregator).finalizeRound(1, 1, hashOf("m"), hashOf("root"), 3, ethers.ZeroHash);
      await expect(ledger.connect(auditor).recordAudit(hashOf("m"), true, hashOf("report")))
        .to.emit(ledger, "ModelAudited")
        .withArgs(hashOf("m"), auditor.address, true, hashOf("report"));
      await expect(ledger.connect(auditor).recordAudit(task.genesis, false, hashOf("report 2")))
        .to.emit(ledger, "ModelAudited")
        .withArgs(task.genesis, auditor.address, false, hashOf("report 2"));
    });

    it("rejects an unknown model, a zero report and a non-auditor", async function () {
      const { ledger, auditor, aggregator } = await loadFixture(ledgerFixture);
      await expect(ledger.connect(auditor).recordAudit(hashOf("unknown"), true, hashOf("report")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownModel")
        .withArgs(hashOf("unknown"));
      await expect(
        ledger.connect(auditor).recordAudit(hashOf("unknown"), true, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(ledger, "LedgerZeroHash");
      await expect(ledger.connect(aggregator).recordAudit(hashOf("unknown"), true, hashOf("report")))
        .to.be.revertedWithCustomError(ledger, "LedgerNotAuditor")
        .withArgs(aggregator.address);
    });
  });

  describe("views", function () {
    it("reverts for unknown tasks and models and reports unopened rounds as None", async function () {
      const { ledger } = await loadFixture(ledgerFixture);
      await expect(ledger.getTask(0)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(0);
      await expect(ledger.getTask(2)).to.be.revertedWithCustomError(ledger, "LedgerUnknownTask").withArgs(2);
      await expect(ledger.getRound(2, 1))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownTask")
        .withArgs(2);
      expect((await ledger.getRound(1, 1)).status).to.equal(RoundStatus.None);
      await expect(ledger.getProvenance(hashOf("nothing")))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownModel")
        .withArgs(hashOf("nothing"));
      expect(await ledger.isRecorded(hashOf("nothing"))).to.equal(false);
    });
  });
});
