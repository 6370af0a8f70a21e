/**
 * Property-based tests: fast-check drives random sequences of registry votes and ledger round actions against the
 * contracts and against a small reference model written from the specification. Every action must succeed or
 * revert exactly as the model says, and the invariants are read back from the chain after every action.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { Role, RoundStatus, SiteStatus, hashOf, proposeSite } from "./fixtures";

const ADMINS = 4;
const SITES = 3;
const MIN_SITES = 2;
const ROUNDS = 4;
const WINDOW = 3_600;

/** Sends nothing itself: awaits `call` and checks it reverts with `error`, or succeeds when `error` is undefined. */
async function expectOutcome(
  contract: ConsortiumRegistry | TrainingLedger,
  call: Promise<ContractTransactionResponse>,
  error: string | undefined,
) {
  if (error) {
    await expect(call).to.be.revertedWithCustomError(contract, error);
    return undefined;
  }
  return (await call).wait();
}

// ------------------------------------------------------------------ registry

type SiteVote = "propose" | "approve" | "suspend" | "reinstate" | "remove";
type RegistryAction =
  { kind: SiteVote; admin: number; site: number } | { kind: "quorum"; admin: number; value: number };

const siteVote = fc.constantFrom<SiteVote>("propose", "approve", "approve", "suspend", "reinstate", "remove");

/**
 * Either a burst of votes on one site by random admins (so that votes meet and reach the quorum often) or one
 * quorum vote. Bursts are concatenated into the action sequence.
 */
const registryBurst: fc.Arbitrary<RegistryAction[]> = fc.oneof(
  {
    arbitrary: fc
      .tuple(
        fc.nat({ max: SITES - 1 }),
        fc.array(fc.record({ kind: siteVote, admin: fc.nat({ max: ADMINS - 1 }) }), {
          minLength: 2,
          maxLength: 5,
        }),
      )
      .map(([site, votes]) => votes.map((vote) => ({ ...vote, site }))),
    weight: 5,
  },
  {
    arbitrary: fc
      .record({ admin: fc.nat({ max: ADMINS - 1 }), value: fc.integer({ min: 0, max: ADMINS + 1 }) })
      .map(({ admin, value }) => [{ kind: "quorum" as const, admin, value }]),
    weight: 1,
  },
);

/** The registry rules of the specification over plain numbers: statuses, nonces, epoch and ballots. */
class RegistryModel {
  quorum = 2;
  epoch = 0;
  readonly status: number[] = Array<number>(SITES).fill(SiteStatus.None);
  readonly nonce: number[] = Array<number>(SITES).fill(0);
  /** How many times a site left the Active status. */
  departures = 0;
  private readonly ballots = new Map<string, Set<number>>();

  /** Applies `action`; returns the custom error the contract must revert with, if any. */
  apply(action: RegistryAction): string | undefined {
    if (action.kind === "quorum") {
      if (action.value < 1 || action.value > ADMINS) return "RegistryInvalidQuorum";
      if (action.value === this.quorum) return "RegistryQuorumUnchanged";
      return this.vote(`quorum ${action.value} ${this.epoch}`, action.admin, () => {
        this.quorum = action.value;
        this.epoch += 1;
      });
    }
    const { admin, site } = action;
    const status = this.status[site];
    switch (action.kind) {
      case "propose":
        if (status !== SiteStatus.None) return "RegistrySiteExists";
        this.setStatus(site, SiteStatus.Proposed);
        return this.voteOnSite(admin, site, SiteStatus.Active);
      case "approve":
        if (status !== SiteStatus.Proposed) return "RegistryInvalidSiteStatus";
        return this.voteOnSite(admin, site, SiteStatus.Active);
      case "suspend":
        if (status !== SiteStatus.Active) return "RegistryInvalidSiteStatus";
        this.setStatus(site, SiteStatus.Suspended);
        return undefined;
      case "reinstate":
        if (status !== SiteStatus.Suspended) return "RegistryInvalidSiteStatus";
        return this.voteOnSite(admin, site, SiteStatus.Active);
      case "remove":
        if (status === SiteStatus.None || status === SiteStatus.Removed) return "RegistrySiteNotRemovable";
        return this.voteOnSite(admin, site, SiteStatus.Removed);
    }
  }

  /** Distinct approvals counted for the pending vote that moves `site` to `target`. */
  pending(site: number, target: number): number {
    return this.ballots.get(this.siteKey(site, target))?.size ?? 0;
  }

  private siteKey(site: number, target: number): string {
    return `site ${site} ${target} ${this.nonce[site]} ${this.epoch}`;
  }

  private voteOnSite(admin: number, site: number, target: number): string | undefined {
    return this.vote(this.siteKey(site, target), admin, () => this.setStatus(site, target));
  }

  private vote(key: string, admin: number, carryOut: () => void): string | undefined {
    const approvers = this.ballots.get(key) ?? new Set<number>();
    if (approvers.has(admin)) return "RegistryAlreadyApproved";
    approvers.add(admin);
    this.ballots.set(key, approvers);
    if (approvers.size >= this.quorum) {
      this.ballots.delete(key);
      carryOut();
    }
    return undefined;
  }

  private setStatus(site: number, to: number): void {
    if (this.status[site] === SiteStatus.Active && to !== SiteStatus.Active) this.departures += 1;
    this.status[site] = to;
    this.nonce[site] += 1;
  }
}

async function registryPropertyFixture() {
  const signers = await ethers.getSigners();
  const admins = signers.slice(0, ADMINS);
  const sites = signers.slice(10, 10 + SITES).map((s) => s.address);
  const registry = await new ConsortiumRegistry__factory(admins[0]).deploy(
    admins.map((a) => a.address),
    2,
  );
  return { registry, admins, sites };
}

/** Runs registry actions on the chain and on the model side by side. */
class RegistryHarness {
  readonly model = new RegistryModel();

  constructor(
    private readonly registry: ConsortiumRegistry,
    private readonly admins: HardhatEthersSigner[],
    private readonly sites: string[],
  ) {}

  async run(action: RegistryAction): Promise<void> {
    const quorumBefore = this.model.quorum;
    const wasActive = [...this.model.status];
    const receipt = await expectOutcome(this.registry, this.send(action), this.model.apply(action));
    for (const log of receipt?.logs ?? []) {
      const event = this.registry.interface.parseLog(log);
      if (event?.name !== "SiteStatusChanged" || event.args.to !== BigInt(SiteStatus.Active)) continue;
      // A site becomes Active only in the vote that brings its distinct approvals up to the quorum.
      const approval = receipt!.logs
        .map((l) => this.registry.interface.parseLog(l))
        .find((e) => e?.name === "SiteApproved" && e.args.operator === event.args.operator);
      expect(approval?.args.approvals).to.equal(BigInt(quorumBefore));
      expect(wasActive[this.sites.indexOf(event.args.operator)]).not.to.equal(SiteStatus.Active);
    }
  }

  /** The chain agrees with the model; the Active count equals the number of Active sites. */
  async checkInvariants(): Promise<void> {
    const statuses = await Promise.all(this.sites.map((site) => this.registry.siteStatus(site)));
    expect(statuses.map(Number)).to.deep.equal(this.model.status);
    const active = statuses.filter((s) => s === BigInt(SiteStatus.Active)).length;
    expect(await this.registry.activeSiteCount()).to.equal(BigInt(active));
    expect(await this.registry.activeSiteCounts()).to.deep.equal([
      BigInt(active),
      BigInt(this.model.departures),
    ]);
    expect(await this.registry.quorum()).to.equal(BigInt(this.model.quorum));
  }

  /** Pending approvals agree with the model's distinct approvers. */
  async checkBallots(): Promise<void> {
    for (const [i, site] of this.sites.entries()) {
      for (const target of [SiteStatus.Active, SiteStatus.Removed]) {
        const id = await this.registry.siteProposalId(site, target);
        expect(await this.registry.approvals(id)).to.equal(BigInt(this.model.pending(i, target)));
      }
    }
  }

  private send(action: RegistryAction): Promise<ContractTransactionResponse> {
    const admin = this.registry.connect(this.admins[action.admin]);
    if (action.kind === "quorum") return admin.voteQuorum(action.value);
    const site = this.sites[action.site];
    switch (action.kind) {
      case "propose":
        return proposeSite(this.registry, this.admins[action.admin], site, action.site);
      case "approve":
        return admin.approveSite(site);
      case "suspend":
        return admin.suspendSite(site, hashOf("reason"));
      case "reinstate":
        return admin.reinstateSite(site);
      case "remove":
        return admin.removeSite(site);
    }
  }
}

// ------------------------------------------------------------------ ledger

type LedgerAction =
  | { kind: "open" | "abort" | "advance" }
  | { kind: "commit"; site: number; samples: number }
  | { kind: "finalize"; includedDelta: number; reuseModel: boolean }
  | { kind: "toggle"; site: number };

const closing: fc.Arbitrary<LedgerAction> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("finalize" as const),
      includedDelta: fc.constantFrom(-2, -1, 0, 0, 0, 0, 0, 1),
      reuseModel: fc.constantFrom(false, false, false, true),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constantFrom("abort" as const, "open" as const, "advance" as const) }),
    weight: 2,
  },
);

/**
 * One round's worth of actions, so that sequences reach finalisation often: open, perhaps a suspension or
 * reinstatement, commits by some of the sites (perhaps one repeated), perhaps the deadline passing, one or two
 * closing actions, and mostly an abort after the deadline so that a round left open does not block the next.
 * Any action may still come at the wrong time; the model then names the revert.
 */
const episode: fc.Arbitrary<LedgerAction[]> = fc
  .record({
    // A site index below SITES toggles that site (one episode in four); anything else toggles nothing.
    toggle: fc.nat({ max: 4 * SITES - 1 }),
    committers: fc.shuffledSubarray([...Array(SITES).keys()], { minLength: 1 }),
    repeat: fc.array(fc.nat({ max: SITES - 1 }), { maxLength: 1 }),
    samples: fc.integer({ min: 1, max: 10_000 }),
    advance: fc.constantFrom(false, true, true),
    end: fc.array(closing, { minLength: 1, maxLength: 2 }),
    closeAnyway: fc.constantFrom(false, true, true),
  })
  .map(({ toggle, committers, repeat, samples, advance, end, closeAnyway }): LedgerAction[] => [
    { kind: "open" },
    ...(toggle < SITES ? [{ kind: "toggle" as const, site: toggle }] : []),
    ...[...committers, ...repeat].map((site) => ({ kind: "commit" as const, site, samples: samples + site })),
    ...(advance ? [{ kind: "advance" as const }] : []),
    ...end,
    ...(closeAnyway ? [{ kind: "advance" as const }, { kind: "abort" as const }] : []),
  ]);

async function ledgerPropertyFixture() {
  const signers = await ethers.getSigners();
  const [admin, aggregator] = signers;
  const sites = signers.slice(10, 10 + SITES);
  const registry = await new ConsortiumRegistry__factory(admin).deploy([admin.address], 1);
  await registry.voteRole(Role.AGGREGATOR, aggregator.address, true);
  for (const [i, site] of sites.entries()) await proposeSite(registry, admin, site.address, i);
  const ledger = await new TrainingLedger__factory(admin).deploy(await registry.getAddress());
  const genesis = hashOf("property genesis");
  await ledger.createTask(hashOf("property spec"), genesis, 1, MIN_SITES, WINDOW, ROUNDS);
  return { registry, ledger, admin, aggregator, sites, genesis };
}

/** Runs ledger actions on task 1 against a model of its rounds, commits and recorded models. */
class LedgerHarness {
  private round = 0;
  private deadlinePassed = false;
  private latest: string;
  private models = 0;
  private readonly active: boolean[] = Array<boolean>(SITES).fill(true);
  private readonly status: number[] = [RoundStatus.None];
  private readonly commits: Set<number>[] = [new Set()];
  /** Every recorded model with the (task, round) of its first recording; the genesis is round 0. */
  private readonly recorded = new Map<string, [bigint, bigint]>();
  /** The model each finalised round produced. */
  private readonly roundModels: string[] = [];
  /** Suspensions so far, and their number when the current round opened. */
  private departures = 0;
  private departuresAtOpen = 0;
  finalized = 0;

  constructor(private readonly fixture: Awaited<ReturnType<typeof ledgerPropertyFixture>>) {
    this.latest = fixture.genesis;
    this.recorded.set(fixture.genesis, [1n, 0n]);
  }

  async run(action: LedgerAction): Promise<void> {
    const { ledger, registry, admin, aggregator, sites } = this.fixture;
    const open = this.round > 0 && this.status[this.round] === RoundStatus.Open;
    const notOpen = this.round === 0 ? "LedgerWrongRound" : "LedgerRoundNotOpen";
    const round = Math.max(this.round, 1);
    switch (action.kind) {
      case "open": {
        let error: string | undefined;
        if (open) error = "LedgerPreviousRoundOpen";
        else if (this.round === ROUNDS) error = "LedgerAllRoundsDone";
        if (await expectOutcome(ledger, ledger.connect(aggregator).openRound(1, this.latest), error)) {
          this.round += 1;
          this.status[this.round] = RoundStatus.Open;
          this.commits[this.round] = new Set();
          this.deadlinePassed = false;
          this.departuresAtOpen = this.departures;
        }
        return;
      }
      case "commit": {
        let error: string | undefined;
        if (!this.active[action.site]) error = "LedgerNotActiveSite";
        else if (!open) error = notOpen;
        else if (this.deadlinePassed) error = "LedgerCommitWindowClosed";
        else if (this.commits[this.round].has(action.site)) error = "LedgerAlreadyCommitted";
        const update = hashOf(`update ${this.round} ${action.site}`);
        const call = ledger
          .connect(sites[action.site])
          .commitUpdate(1, round, update, action.samples, hashOf("m"));
        if (await expectOutcome(ledger, call, error)) this.commits[this.round].add(action.site);
        return;
      }
      case "finalize": {
        const count = open ? this.commits[this.round].size : 0;
        const included = Math.max(0, count + action.includedDelta);
        const model = action.reuseModel
          ? [...this.recorded.keys()][this.models % this.recorded.size]
          : hashOf(`model ${++this.models}`);
        let error: string | undefined;
        if (!open) error = notOpen;
        else if (!this.deadlinePassed && count < this.active.filter(Boolean).length)
          error = "LedgerRoundStillOpen";
        else if (!this.deadlinePassed && this.departures !== this.departuresAtOpen)
          error = "LedgerSiteLeftDuringRound";
        else if (included < MIN_SITES || included > count) error = "LedgerIncludedCountOutOfRange";
        const call = ledger
          .connect(aggregator)
          .finalizeRound(1, round, model, hashOf("root"), included, hashOf("m"));
        if (await expectOutcome(ledger, call, error)) {
          this.status[this.round] = RoundStatus.Finalized;
          // A model hash seen before (reuseModel) keeps its first record and does not block the round.
          if (!this.recorded.has(model)) this.recorded.set(model, [1n, BigInt(this.round)]);
          this.roundModels[this.round] = model;
          this.latest = model;
          this.finalized += 1;
        }
        return;
      }
      case "abort": {
        let error: string | undefined;
        if (!open) error = notOpen;
        else if (!this.deadlinePassed) error = "LedgerDeadlineNotReached";
        if (await expectOutcome(ledger, ledger.connect(aggregator).abortRound(1, round, 1), error)) {
          this.status[this.round] = RoundStatus.Aborted;
        }
        return;
      }
      case "advance":
        await time.increase(WINDOW);
        this.deadlinePassed = true;
        return;
      case "toggle": {
        const site = sites[action.site].address;
        const registryAdmin = registry.connect(admin);
        if (this.active[action.site]) this.departures += 1;
        await (this.active[action.site]
          ? registryAdmin.suspendSite(site, hashOf("r"))
          : registryAdmin.reinstateSite(site));
        this.active[action.site] = !this.active[action.site];
        return;
      }
    }
  }

  /**
   * One commit per site per round (the chain's count equals the distinct committers), no finalised round below
   * the minimum, provenance written once (every recorded model still points at its first recording, and each
   * finalised round names its own model), and the Active count equals the number of Active sites.
   */
  async checkInvariants(): Promise<void> {
    const { ledger, registry, sites } = this.fixture;
    expect(await registry.activeSiteCount()).to.equal(BigInt(this.active.filter(Boolean).length));
    expect((await ledger.getTask(1)).latestModelHash).to.equal(this.latest);
    for (let r = 1; r <= this.round; r++) {
      const round = await ledger.getRound(1, r);
      expect(round.status).to.equal(BigInt(this.status[r]));
      expect(round.commitCount).to.equal(BigInt(this.commits[r].size));
      if (round.status === BigInt(RoundStatus.Finalized)) {
        expect(round.includedCount >= BigInt(MIN_SITES) && round.includedCount <= round.commitCount).to.equal(
          true,
        );
        expect(round.modelHash).to.equal(this.roundModels[r]);
      }
    }
    if (this.round > 0) {
      const committed = await Promise.all(
        sites.map((site) => ledger.hasCommitted(1, this.round, site.address)),
      );
      expect(committed).to.deep.equal(sites.map((_, i) => this.commits[this.round].has(i)));
    }
    for (const [model, [taskId, round]] of this.recorded) {
      const provenance = await ledger.getProvenance(model);
      expect([provenance.taskId, provenance.round]).to.deep.equal([taskId, round]);
    }
  }
}

// ------------------------------------------------------------------ properties

describe("contract properties (fast-check)", function () {
  it("registry: statuses, the Active count and approvals follow the quorum rules", async function () {
    let statusChanges = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(registryBurst, { minLength: 1, maxLength: 6 }), async (bursts) => {
        const { registry, admins, sites } = await loadFixture(registryPropertyFixture);
        const harness = new RegistryHarness(registry, admins, sites);
        for (const action of bursts.flat()) {
          const before = [...harness.model.status];
          await harness.run(action);
          await harness.checkInvariants();
          statusChanges += harness.model.status.filter((s, i) => s !== before[i]).length;
        }
        await harness.checkBallots();
      }),
      { numRuns: 40 },
    );
    // The generator must actually move sites through their life cycle, or the property proves little.
    expect(statusChanges).to.be.greaterThan(40);
  });

  it("ledger: one commit per site per round, no finalisation below the minimum, no early close after a departure, provenance written once", async function () {
    let finalized = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(episode, { minLength: 1, maxLength: 4 }), async (episodes) => {
        const fixture = await loadFixture(ledgerPropertyFixture);
        const harness = new LedgerHarness(fixture);
        for (const action of episodes.flat()) {
          await harness.run(action);
          await harness.checkInvariants();
        }
        finalized += harness.finalized;
      }),
      { numRuns: 30 },
    );
    expect(finalized).to.be.greaterThan(5);
  });
});
