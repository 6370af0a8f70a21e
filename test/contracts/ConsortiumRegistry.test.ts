import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ConsortiumRegistry__factory } from "../../typechain-types";
import { Role, SiteStatus, countryCode, hashOf, proposeSite, registryFixture, siteFields } from "./fixtures";

const coder = ethers.AbiCoder.defaultAbiCoder();

/** The documented proposal id: keccak256(abi.encode(uint8 kind, address target, bytes32 parameter, nonce, epoch)). */
function proposalId(kind: number, target: string, parameter: string, nonce: bigint, epoch: bigint): string {
  return ethers.keccak256(
    coder.encode(
      ["uint8", "address", "bytes32", "uint256", "uint256"],
      [kind, target, parameter, nonce, epoch],
    ),
  );
}

const word = (n: number) => ethers.zeroPadValue(ethers.toBeHex(n), 32);

describe("ConsortiumRegistry", function () {
  describe("deployment", function () {
    it("grants ADMIN_ROLE to each admin, sets the quorum and makes ADMIN_ROLE the admin of every role", async function () {
      const { registry, admins, outsider } = await loadFixture(registryFixture);
      expect(await registry.adminCount()).to.equal(3n);
      expect(await registry.quorum()).to.equal(2n);
      for (const admin of admins) expect(await registry.hasRole(Role.ADMIN, admin.address)).to.equal(true);
      expect(await registry.hasRole(Role.ADMIN, outsider.address)).to.equal(false);
      expect(await registry.hasRole(Role.DEFAULT_ADMIN, admins[0].address)).to.equal(false);
      for (const role of [Role.ADMIN, Role.AGGREGATOR, Role.AUDITOR, Role.SITE]) {
        expect(await registry.getRoleAdmin(role)).to.equal(Role.ADMIN);
      }
      expect(await registry.ADMIN_ROLE()).to.equal(Role.ADMIN);
      expect(await registry.AGGREGATOR_ROLE()).to.equal(Role.AGGREGATOR);
      expect(await registry.AUDITOR_ROLE()).to.equal(Role.AUDITOR);
      expect(await registry.SITE_ROLE()).to.equal(Role.SITE);
      expect(await registry.siteCount()).to.equal(0n);
      expect(await registry.activeSiteCount()).to.equal(0n);
    });

    it("emits RoleGranted for each admin and QuorumChanged from 0", async function () {
      const { registry, admins } = await loadFixture(registryFixture);
      const deployment = registry.deploymentTransaction();
      await expect(deployment).to.emit(registry, "QuorumChanged").withArgs(0, 2);
      for (const admin of admins) {
        await expect(deployment)
          .to.emit(registry, "RoleGranted")
          .withArgs(Role.ADMIN, admin.address, admins[0].address);
      }
    });

    it("rejects a quorum of 0 or above the number of admins", async function () {
      const [a, b] = await ethers.getSigners();
      const factory = new ConsortiumRegistry__factory(a);
      await expect(factory.deploy([a.address, b.address], 0))
        .to.be.revertedWithCustomError(factory, "RegistryInvalidQuorum")
        .withArgs(0, 2);
      await expect(factory.deploy([a.address, b.address], 3))
        .to.be.revertedWithCustomError(factory, "RegistryInvalidQuorum")
        .withArgs(3, 2);
    });

    it("rejects a zero admin and a duplicate admin", async function () {
      const [a, b] = await ethers.getSigners();
      const factory = new ConsortiumRegistry__factory(a);
      await expect(factory.deploy([a.address, ethers.ZeroAddress], 1)).to.be.revertedWithCustomError(
        factory,
        "RegistryZeroAddress",
      );
      await expect(factory.deploy([a.address, b.address, a.address], 1))
        .to.be.revertedWithCustomError(factory, "RegistryDuplicateAdmin")
        .withArgs(a.address);
    });

    it("accepts 224 admins and rejects 225", async function () {
      const [deployer] = await ethers.getSigners();
      const factory = new ConsortiumRegistry__factory(deployer);
      const addresses = Array.from({ length: 225 }, () => ethers.Wallet.createRandom().address);
      await expect(factory.deploy(addresses, 1))
        .to.be.revertedWithCustomError(factory, "RegistryTooManyAdmins")
        .withArgs(224);
      // One transaction may use at most 2^24 gas, so start with 150 admins and vote the rest in (quorum 1).
      const full = await factory.deploy([deployer.address, ...addresses.slice(0, 149)], 1);
      for (const address of addresses.slice(149, 223)) await full.voteRole(Role.ADMIN, address, true);
      expect(await full.adminCount()).to.equal(224n);
      expect(await full.MAX_ADMINS()).to.equal(224n);
      // A 225th admin cannot even be voted on.
      await expect(full.voteRole(Role.ADMIN, addresses[224], true))
        .to.be.revertedWithCustomError(full, "RegistryTooManyAdmins")
        .withArgs(224);
    });
  });

  describe("proposeSite", function () {
    it("stores the site as Proposed, emits SiteProposed and SiteApproved, and counts the proposer's approval", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      const f = siteFields(1);
      const op = sites[0].address;
      const tx = registry
        .connect(admins[0])
        .proposeSite(op, f.name, f.country, f.language, f.metadataHash, f.publicKey);
      await expect(tx)
        .to.emit(registry, "SiteProposed")
        .withArgs(op, admins[0].address, f.name, f.country, f.language, f.metadataHash, f.publicKey);
      await expect(tx)
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[0].address, SiteStatus.Active, 1, 2);
      await expect(tx).not.to.emit(registry, "SiteStatusChanged");

      const site = await registry.getSite(op);
      const block = (await (await tx).getBlock())!.number;
      expect(site.operator).to.equal(op);
      expect(site.status).to.equal(SiteStatus.Proposed);
      expect(site.changedAtBlock).to.equal(BigInt(block));
      expect(site.country).to.equal(f.country);
      expect(site.name).to.equal(f.name);
      expect(site.language).to.equal(f.language);
      expect(site.metadataHash).to.equal(f.metadataHash);
      expect(site.publicKey).to.equal(f.publicKey);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Proposed);
      expect(await registry.siteCount()).to.equal(1n);
      expect(await registry.activeSiteCount()).to.equal(0n);
      expect(await registry.isActiveSite(op)).to.equal(false);
      expect(await registry.hasRole(Role.SITE, op)).to.equal(false);

      const id = await registry.siteProposalId(op, SiteStatus.Active);
      expect(await registry.approvals(id)).to.equal(1n);
      expect(await registry.hasApproved(id, admins[0].address)).to.equal(true);
      expect(await registry.hasApproved(id, admins[1].address)).to.equal(false);
    });

    it("activates the site at once when the quorum is 1", async function () {
      const [admin, site] = await ethers.getSigners();
      const registry = await new ConsortiumRegistry__factory(admin).deploy([admin.address], 1);
      const tx = proposeSite(registry, admin, site.address);
      await expect(tx)
        .to.emit(registry, "SiteApproved")
        .withArgs(site.address, admin.address, SiteStatus.Active, 1, 1);
      await expect(tx)
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(site.address, SiteStatus.Proposed, SiteStatus.Active);
      expect(await registry.isActiveSite(site.address)).to.equal(true);
      expect(await registry.hasRole(Role.SITE, site.address)).to.equal(true);
      expect(await registry.activeSiteCount()).to.equal(1n);
      expect(
        await registry.approvals(await registry.siteProposalId(site.address, SiteStatus.Active)),
      ).to.equal(0n);
    });

    it("round-trips long, empty and multi-byte fields", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      const name = "Sjukhus i Malmö ".padEnd(63, "x"); // "ö" takes two bytes: 64 bytes in all
      expect(ethers.toUtf8Bytes(name).length).to.equal(64);
      const language = "sv-Latn-SE-".padEnd(35, "a");
      const longKey = ethers.hexlify(ethers.randomBytes(300));
      await registry.proposeSite(
        sites[0].address,
        name,
        countryCode("SE"),
        language,
        ethers.ZeroHash,
        longKey,
      );
      await registry
        .connect(admins[0])
        .proposeSite(sites[1].address, "Å", countryCode("DK"), "da", hashOf("m"), "0x");
      const first = await registry.getSite(sites[0].address);
      expect([first.name, first.language, first.publicKey, first.metadataHash]).to.deep.equal([
        name,
        language,
        longKey,
        ethers.ZeroHash,
      ]);
      const second = await registry.getSite(sites[1].address);
      expect([second.name, second.language, second.publicKey]).to.deep.equal(["Å", "da", "0x"]);
    });

    it("rejects a caller who is not an admin", async function () {
      const { registry, sites, outsider } = await loadFixture(registryFixture);
      await expect(proposeSite(registry, outsider, sites[0].address))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
    });

    it("rejects the zero operator and an operator that already exists or was removed", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      await expect(proposeSite(registry, admins[0], ethers.ZeroAddress)).to.be.revertedWithCustomError(
        registry,
        "RegistryZeroAddress",
      );
      await proposeSite(registry, admins[0], sites[0].address);
      await expect(proposeSite(registry, admins[1], sites[0].address))
        .to.be.revertedWithCustomError(registry, "RegistrySiteExists")
        .withArgs(sites[0].address, SiteStatus.Proposed);
      await registry.connect(admins[0]).removeSite(sites[0].address);
      await registry.connect(admins[1]).removeSite(sites[0].address);
      await expect(proposeSite(registry, admins[1], sites[0].address))
        .to.be.revertedWithCustomError(registry, "RegistrySiteExists")
        .withArgs(sites[0].address, SiteStatus.Removed);
    });

    const invalid: ReadonlyArray<
      [string, Partial<{ name: string; country: string; language: string }>, string]
    > = [
      ["an empty name", { name: "" }, "name"],
      ["a 65-byte name", { name: "x".repeat(65) }, "name"],
      ["a lower-case country", { country: countryCode("no") }, "country"],
      ["a country with a bad first letter", { country: countryCode("@O") }, "country"],
      ["a country with a bad second letter", { country: countryCode("N[") }, "country"],
      ["a country with a digit", { country: countryCode("N1") }, "country"],
      ["an empty language", { language: "" }, "language"],
      ["a 36-byte language", { language: "a".repeat(36) }, "language"],
      ["a language with a space", { language: "nb NO" }, "language"],
      ["a language with a control character", { language: "nb\tNO" }, "language"],
      ["a language with DEL", { language: "nb\u007f" }, "language"],
      ["a language with non-ASCII letters", { language: "bokmål" }, "language"],
    ];
    for (const [label, override, field] of invalid) {
      it(`rejects ${label}`, async function () {
        const { registry, admins, sites } = await loadFixture(registryFixture);
        const f = { ...siteFields(0), ...override };
        await expect(
          registry
            .connect(admins[0])
            .proposeSite(sites[0].address, f.name, f.country, f.language, f.metadataHash, f.publicKey),
        )
          .to.be.revertedWithCustomError(registry, "RegistryInvalidSiteField")
          .withArgs(field);
      });
    }
  });

  describe("approveSite", function () {
    it("activates the site when the second admin approves", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      const op = sites[0].address;
      await proposeSite(registry, admins[0], op);
      const id = await registry.siteProposalId(op, SiteStatus.Active);
      const tx = registry.connect(admins[1]).approveSite(op);
      await expect(tx)
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[1].address, SiteStatus.Active, 2, 2);
      await expect(tx)
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(op, SiteStatus.Proposed, SiteStatus.Active);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Active);
      expect(await registry.activeSiteCount()).to.equal(1n);
      // The carried-out ballot is deleted and the id moved on with the site's nonce.
      expect(await registry.approvals(id)).to.equal(0n);
      expect(await registry.hasApproved(id, admins[0].address)).to.equal(false);
      expect(await registry.siteProposalId(op, SiteStatus.Active)).not.to.equal(id);
    });

    it("needs every approval when the quorum equals the admin count", async function () {
      const [a, b, c, site] = await ethers.getSigners();
      const registry = await new ConsortiumRegistry__factory(a).deploy([a.address, b.address, c.address], 3);
      await proposeSite(registry, a, site.address);
      await expect(registry.connect(b).approveSite(site.address)).not.to.emit(registry, "SiteStatusChanged");
      expect(await registry.siteStatus(site.address)).to.equal(SiteStatus.Proposed);
      await expect(registry.connect(c).approveSite(site.address))
        .to.emit(registry, "SiteApproved")
        .withArgs(site.address, c.address, SiteStatus.Active, 3, 3);
      expect(await registry.siteStatus(site.address)).to.equal(SiteStatus.Active);
    });

    it("counts an admin's approval once", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      const op = sites[0].address;
      await proposeSite(registry, admins[0], op);
      const id = await registry.siteProposalId(op, SiteStatus.Active);
      await expect(registry.connect(admins[0]).approveSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryAlreadyApproved")
        .withArgs(admins[0].address, id);
    });

    it("rejects a site that is not Proposed, and a caller who is not an admin", async function () {
      const { registry, admins, sites, outsider } = await loadFixture(registryFixture);
      const op = sites[0].address;
      await expect(registry.connect(admins[0]).approveSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidSiteStatus")
        .withArgs(op, SiteStatus.None, SiteStatus.Proposed);
      await proposeSite(registry, admins[0], op);
      await expect(registry.connect(outsider).approveSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
      await registry.connect(admins[1]).approveSite(op);
      await expect(registry.connect(admins[2]).approveSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidSiteStatus")
        .withArgs(op, SiteStatus.Active, SiteStatus.Proposed);
    });
  });

  /** A registry fixture with sites[0] Active. */
  async function activeSiteFixture() {
    const base = await registryFixture();
    await proposeSite(base.registry, base.admins[0], base.sites[0].address);
    await base.registry.connect(base.admins[1]).approveSite(base.sites[0].address);
    return { ...base, op: base.sites[0].address };
  }

  describe("suspendSite and reinstateSite", function () {
    it("lets one admin suspend an Active site at once", async function () {
      const { registry, admins, op } = await loadFixture(activeSiteFixture);
      const reason = hashOf("sent updates that did not match their commits");
      const tx = registry.connect(admins[2]).suspendSite(op, reason);
      await expect(tx).to.emit(registry, "SiteSuspended").withArgs(op, admins[2].address, reason);
      await expect(tx)
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(op, SiteStatus.Active, SiteStatus.Suspended);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Suspended);
      expect(await registry.activeSiteCount()).to.equal(0n);
      expect(await registry.isActiveSite(op)).to.equal(false);
      expect(await registry.hasRole(Role.SITE, op)).to.equal(false);
    });

    it("rejects suspending a site that is not Active, and a caller who is not an admin", async function () {
      const { registry, admins, sites, outsider, op } = await loadFixture(activeSiteFixture);
      await expect(registry.connect(outsider).suspendSite(op, hashOf("r")))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
      await proposeSite(registry, admins[0], sites[1].address);
      await expect(registry.connect(admins[0]).suspendSite(sites[1].address, hashOf("r")))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidSiteStatus")
        .withArgs(sites[1].address, SiteStatus.Proposed, SiteStatus.Active);
    });

    it("reinstates a suspended site with a quorum of approvals", async function () {
      const { registry, admins, op } = await loadFixture(activeSiteFixture);
      await registry.connect(admins[0]).suspendSite(op, hashOf("r"));
      await expect(registry.connect(admins[0]).reinstateSite(op))
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[0].address, SiteStatus.Active, 1, 2);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Suspended);
      const tx = registry.connect(admins[1]).reinstateSite(op);
      await expect(tx)
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[1].address, SiteStatus.Active, 2, 2);
      await expect(tx)
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(op, SiteStatus.Suspended, SiteStatus.Active);
      expect(await registry.activeSiteCount()).to.equal(1n);
    });

    it("rejects reinstating a site that is not Suspended, and a caller who is not an admin", async function () {
      const { registry, admins, outsider, op } = await loadFixture(activeSiteFixture);
      await expect(registry.connect(admins[0]).reinstateSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidSiteStatus")
        .withArgs(op, SiteStatus.Active, SiteStatus.Suspended);
      await expect(registry.connect(outsider).reinstateSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
    });
  });

  describe("removeSite", function () {
    it("removes an Active site at the quorum and keeps the count of Active sites", async function () {
      const { registry, admins, op } = await loadFixture(activeSiteFixture);
      await expect(registry.connect(admins[2]).removeSite(op))
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[2].address, SiteStatus.Removed, 1, 2);
      const tx = registry.connect(admins[0]).removeSite(op);
      await expect(tx)
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(op, SiteStatus.Active, SiteStatus.Removed);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Removed);
      expect(await registry.activeSiteCount()).to.equal(0n);
      expect(await registry.siteCount()).to.equal(1n);
      await expect(registry.connect(admins[1]).removeSite(op))
        .to.be.revertedWithCustomError(registry, "RegistrySiteNotRemovable")
        .withArgs(op, SiteStatus.Removed);
    });

    it("removes Proposed and Suspended sites without touching the Active count", async function () {
      const { registry, admins, sites, op } = await loadFixture(activeSiteFixture);
      await proposeSite(registry, admins[0], sites[1].address);
      await registry.connect(admins[1]).removeSite(sites[1].address);
      await expect(registry.connect(admins[2]).removeSite(sites[1].address))
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(sites[1].address, SiteStatus.Proposed, SiteStatus.Removed);
      await registry.connect(admins[0]).suspendSite(op, hashOf("r"));
      await registry.connect(admins[0]).removeSite(op);
      await expect(registry.connect(admins[1]).removeSite(op))
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(op, SiteStatus.Suspended, SiteStatus.Removed);
      expect(await registry.activeSiteCount()).to.equal(0n);
      // A removed site's record stays readable.
      expect((await registry.getSite(op)).status).to.equal(SiteStatus.Removed);
    });

    it("rejects an unknown site and a caller who is not an admin", async function () {
      const { registry, sites, outsider, admins, op } = await loadFixture(activeSiteFixture);
      await expect(registry.connect(admins[0]).removeSite(sites[3].address))
        .to.be.revertedWithCustomError(registry, "RegistrySiteNotRemovable")
        .withArgs(sites[3].address, SiteStatus.None);
      await expect(registry.connect(outsider).removeSite(op))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
    });
  });

  describe("stale approvals", function () {
    it("drops a removal vote once the site changed status in between", async function () {
      const { registry, admins, op } = await loadFixture(activeSiteFixture);
      await registry.connect(admins[0]).removeSite(op); // 1 of 2, for the Active site
      await registry.connect(admins[1]).suspendSite(op, hashOf("r"));
      await registry.connect(admins[1]).reinstateSite(op);
      await registry.connect(admins[2]).reinstateSite(op);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Active);
      // Active again, but admin 0's old vote does not count: this is the first approval of a new proposal.
      await expect(registry.connect(admins[1]).removeSite(op))
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[1].address, SiteStatus.Removed, 1, 2);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Active);
      // Admin 0 may approve the new proposal, which carries it out.
      await registry.connect(admins[0]).removeSite(op);
      expect(await registry.siteStatus(op)).to.equal(SiteStatus.Removed);
    });

    it("drops pending approvals when the quorum changes", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      const op = sites[0].address;
      await proposeSite(registry, admins[0], op);
      const before = await registry.siteProposalId(op, SiteStatus.Active);
      await registry.connect(admins[1]).voteQuorum(3);
      await registry.connect(admins[2]).voteQuorum(3);
      const after = await registry.siteProposalId(op, SiteStatus.Active);
      expect(after).not.to.equal(before);
      expect(await registry.approvals(after)).to.equal(0n);
      // The proposer's approval is gone with the old epoch, so the proposer approves again.
      await expect(registry.connect(admins[0]).approveSite(op))
        .to.emit(registry, "SiteApproved")
        .withArgs(op, admins[0].address, SiteStatus.Active, 1, 3);
      await registry.connect(admins[1]).approveSite(op);
      await expect(registry.connect(admins[2]).approveSite(op))
        .to.emit(registry, "SiteStatusChanged")
        .withArgs(op, SiteStatus.Proposed, SiteStatus.Active);
    });

    it("drops pending approvals when the admin set changes", async function () {
      const { registry, admins, auditor, signers } = await loadFixture(registryFixture);
      await registry.connect(admins[0]).voteRole(Role.AUDITOR, auditor.address, true);
      const newAdmin = signers[20];
      await registry.connect(admins[1]).voteRole(Role.ADMIN, newAdmin.address, true);
      await registry.connect(admins[2]).voteRole(Role.ADMIN, newAdmin.address, true);
      expect(await registry.adminCount()).to.equal(4n);
      await expect(registry.connect(admins[1]).voteRole(Role.AUDITOR, auditor.address, true))
        .to.emit(registry, "RoleVote")
        .withArgs(Role.AUDITOR, auditor.address, admins[1].address, true, 1, 2);
      expect(await registry.hasRole(Role.AUDITOR, auditor.address)).to.equal(false);
      await expect(registry.connect(newAdmin).voteRole(Role.AUDITOR, auditor.address, true))
        .to.emit(registry, "RoleGranted")
        .withArgs(Role.AUDITOR, auditor.address, newAdmin.address);
    });

    it("drops a role vote once the account's roles changed in between", async function () {
      const { registry, admins, aggregator } = await loadFixture(registryFixture);
      await registry.connect(admins[0]).voteRole(Role.AGGREGATOR, aggregator.address, true);
      await registry.connect(admins[1]).voteRole(Role.AGGREGATOR, aggregator.address, true);
      await registry.connect(admins[0]).voteRole(Role.AGGREGATOR, aggregator.address, false); // 1 of 2
      await registry.connect(aggregator).renounceRole(Role.AGGREGATOR, aggregator.address);
      await registry.connect(admins[1]).voteRole(Role.AGGREGATOR, aggregator.address, true);
      await registry.connect(admins[2]).voteRole(Role.AGGREGATOR, aggregator.address, true);
      expect(await registry.hasRole(Role.AGGREGATOR, aggregator.address)).to.equal(true);
      await expect(registry.connect(admins[1]).voteRole(Role.AGGREGATOR, aggregator.address, false))
        .to.emit(registry, "RoleVote")
        .withArgs(Role.AGGREGATOR, aggregator.address, admins[1].address, false, 1, 2);
      expect(await registry.hasRole(Role.AGGREGATOR, aggregator.address)).to.equal(true);
    });
  });

  describe("voteRole", function () {
    it("grants and revokes the aggregator role at the quorum", async function () {
      const { registry, admins, aggregator } = await loadFixture(registryFixture);
      const account = aggregator.address;
      await expect(registry.connect(admins[0]).voteRole(Role.AGGREGATOR, account, true))
        .to.emit(registry, "RoleVote")
        .withArgs(Role.AGGREGATOR, account, admins[0].address, true, 1, 2);
      expect(await registry.hasRole(Role.AGGREGATOR, account)).to.equal(false);
      const grant = registry.connect(admins[1]).voteRole(Role.AGGREGATOR, account, true);
      await expect(grant)
        .to.emit(registry, "RoleVote")
        .withArgs(Role.AGGREGATOR, account, admins[1].address, true, 2, 2);
      await expect(grant)
        .to.emit(registry, "RoleGranted")
        .withArgs(Role.AGGREGATOR, account, admins[1].address);
      expect(await registry.hasRole(Role.AGGREGATOR, account)).to.equal(true);

      await registry.connect(admins[2]).voteRole(Role.AGGREGATOR, account, false);
      await expect(registry.connect(admins[0]).voteRole(Role.AGGREGATOR, account, false))
        .to.emit(registry, "RoleRevoked")
        .withArgs(Role.AGGREGATOR, account, admins[0].address);
      expect(await registry.hasRole(Role.AGGREGATOR, account)).to.equal(false);
    });

    it("adds an admin who can then vote, and removes one whose seat is reused", async function () {
      const { registry, admins, signers, auditor } = await loadFixture(registryFixture);
      const [fourth, fifth] = [signers[20], signers[21]];
      await registry.connect(admins[0]).voteRole(Role.ADMIN, fourth.address, true);
      await registry.connect(admins[1]).voteRole(Role.ADMIN, fourth.address, true);
      expect(await registry.adminCount()).to.equal(4n);
      await registry.connect(fourth).voteRole(Role.ADMIN, admins[2].address, false);
      await expect(registry.connect(admins[0]).voteRole(Role.ADMIN, admins[2].address, false))
        .to.emit(registry, "RoleRevoked")
        .withArgs(Role.ADMIN, admins[2].address, admins[0].address);
      expect(await registry.adminCount()).to.equal(3n);
      await expect(registry.connect(admins[2]).voteRole(Role.AUDITOR, auditor.address, true))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(admins[2].address);
      // The freed seat goes to the next admin; approvals stay per admin.
      await registry.connect(fourth).voteRole(Role.ADMIN, fifth.address, true);
      await registry.connect(admins[1]).voteRole(Role.ADMIN, fifth.address, true);
      const id = await registry.roleProposalId(Role.AUDITOR, auditor.address, true);
      await registry.connect(fifth).voteRole(Role.AUDITOR, auditor.address, true);
      expect(await registry.hasApproved(id, fifth.address)).to.equal(true);
      expect(await registry.hasApproved(id, fourth.address)).to.equal(false);
      expect(await registry.hasApproved(id, admins[2].address)).to.equal(false);
      expect(await registry.approvals(id)).to.equal(1n);
    });

    it("refuses to revoke an admin below the quorum", async function () {
      const { registry, admins } = await loadFixture(registryFixture);
      await registry.connect(admins[0]).voteRole(Role.ADMIN, admins[2].address, false);
      await registry.connect(admins[1]).voteRole(Role.ADMIN, admins[2].address, false);
      expect(await registry.adminCount()).to.equal(2n);
      await expect(registry.connect(admins[0]).voteRole(Role.ADMIN, admins[1].address, false))
        .to.be.revertedWithCustomError(registry, "RegistryAdminsBelowQuorum")
        .withArgs(1, 2);
    });

    it("rejects unknown roles, the zero account, no-op changes, double votes and non-admins", async function () {
      const { registry, admins, aggregator, outsider } = await loadFixture(registryFixture);
      for (const role of [Role.SITE, Role.DEFAULT_ADMIN, hashOf("OTHER_ROLE")]) {
        await expect(registry.connect(admins[0]).voteRole(role, aggregator.address, true))
          .to.be.revertedWithCustomError(registry, "RegistryUnknownRole")
          .withArgs(role);
      }
      await expect(
        registry.connect(admins[0]).voteRole(Role.AUDITOR, ethers.ZeroAddress, true),
      ).to.be.revertedWithCustomError(registry, "RegistryZeroAddress");
      await expect(registry.connect(admins[0]).voteRole(Role.ADMIN, admins[1].address, true))
        .to.be.revertedWithCustomError(registry, "RegistryRoleUnchanged")
        .withArgs(Role.ADMIN, admins[1].address, true);
      await expect(registry.connect(admins[0]).voteRole(Role.AUDITOR, aggregator.address, false))
        .to.be.revertedWithCustomError(registry, "RegistryRoleUnchanged")
        .withArgs(Role.AUDITOR, aggregator.address, false);
      await registry.connect(admins[0]).voteRole(Role.AUDITOR, aggregator.address, true);
      await expect(registry.connect(admins[0]).voteRole(Role.AUDITOR, aggregator.address, true))
        .to.be.revertedWithCustomError(registry, "RegistryAlreadyApproved")
        .withArgs(admins[0].address, await registry.roleProposalId(Role.AUDITOR, aggregator.address, true));
      await expect(registry.connect(outsider).voteRole(Role.AUDITOR, aggregator.address, true))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
    });
  });

  describe("voteQuorum", function () {
    it("changes the quorum at the current quorum", async function () {
      const { registry, admins } = await loadFixture(registryFixture);
      await expect(registry.connect(admins[0]).voteQuorum(3))
        .to.emit(registry, "QuorumVote")
        .withArgs(3, admins[0].address, 1, 2);
      expect(await registry.quorum()).to.equal(2n);
      const tx = registry.connect(admins[2]).voteQuorum(3);
      await expect(tx).to.emit(registry, "QuorumVote").withArgs(3, admins[2].address, 2, 2);
      await expect(tx).to.emit(registry, "QuorumChanged").withArgs(2, 3);
      expect(await registry.quorum()).to.equal(3n);
      // Lowering it now takes all three admins.
      await registry.connect(admins[0]).voteQuorum(1);
      await registry.connect(admins[1]).voteQuorum(1);
      expect(await registry.quorum()).to.equal(3n);
      await expect(registry.connect(admins[2]).voteQuorum(1))
        .to.emit(registry, "QuorumChanged")
        .withArgs(3, 1);
    });

    it("rejects 0, more than the admins, the current value, double votes and non-admins", async function () {
      const { registry, admins, outsider } = await loadFixture(registryFixture);
      await expect(registry.connect(admins[0]).voteQuorum(0))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidQuorum")
        .withArgs(0, 3);
      await expect(registry.connect(admins[0]).voteQuorum(4))
        .to.be.revertedWithCustomError(registry, "RegistryInvalidQuorum")
        .withArgs(4, 3);
      await expect(registry.connect(admins[0]).voteQuorum(2))
        .to.be.revertedWithCustomError(registry, "RegistryQuorumUnchanged")
        .withArgs(2);
      await registry.connect(admins[0]).voteQuorum(1);
      await expect(registry.connect(admins[0]).voteQuorum(1))
        .to.be.revertedWithCustomError(registry, "RegistryAlreadyApproved")
        .withArgs(admins[0].address, await registry.quorumProposalId(1));
      await expect(registry.connect(outsider).voteQuorum(1))
        .to.be.revertedWithCustomError(registry, "RegistryNotAdmin")
        .withArgs(outsider.address);
    });
  });

  describe("AccessControl entry points", function () {
    it("rejects grantRole and revokeRole, even from an admin", async function () {
      const { registry, admins, aggregator } = await loadFixture(registryFixture);
      await expect(
        registry.connect(admins[0]).grantRole(Role.AGGREGATOR, aggregator.address),
      ).to.be.revertedWithCustomError(registry, "RegistryChangeNeedsQuorum");
      await expect(
        registry.connect(admins[0]).revokeRole(Role.ADMIN, admins[1].address),
      ).to.be.revertedWithCustomError(registry, "RegistryChangeNeedsQuorum");
    });

    it("lets an admin renounce while the quorum stays reachable", async function () {
      const { registry, admins } = await loadFixture(registryFixture);
      const pending = await registry.quorumProposalId(3);
      await registry.connect(admins[0]).voteQuorum(3);
      await expect(registry.connect(admins[2]).renounceRole(Role.ADMIN, admins[2].address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(Role.ADMIN, admins[2].address, admins[2].address);
      expect(await registry.adminCount()).to.equal(2n);
      expect(await registry.quorumProposalId(3)).not.to.equal(pending);
      await expect(registry.connect(admins[1]).renounceRole(Role.ADMIN, admins[1].address))
        .to.be.revertedWithCustomError(registry, "RegistryAdminsBelowQuorum")
        .withArgs(1, 2);
    });

    it("lets the last admin of a quorum-1 registry not renounce", async function () {
      const [admin] = await ethers.getSigners();
      const registry = await new ConsortiumRegistry__factory(admin).deploy([admin.address], 1);
      await expect(registry.renounceRole(Role.ADMIN, admin.address))
        .to.be.revertedWithCustomError(registry, "RegistryAdminsBelowQuorum")
        .withArgs(0, 1);
    });

    it("lets role holders renounce other roles, but not SITE_ROLE", async function () {
      const { registry, admins, aggregator, outsider } = await loadFixture(registryFixture);
      await registry.connect(admins[0]).voteRole(Role.AGGREGATOR, aggregator.address, true);
      await registry.connect(admins[1]).voteRole(Role.AGGREGATOR, aggregator.address, true);
      await expect(registry.connect(aggregator).renounceRole(Role.AGGREGATOR, aggregator.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(Role.AGGREGATOR, aggregator.address, aggregator.address);
      await expect(registry.connect(outsider).renounceRole(Role.AUDITOR, outsider.address)).not.to.emit(
        registry,
        "RoleRevoked",
      );
      await expect(
        registry.connect(outsider).renounceRole(Role.SITE, outsider.address),
      ).to.be.revertedWithCustomError(registry, "RegistryChangeNeedsQuorum");
      await expect(
        registry.connect(outsider).renounceRole(Role.AUDITOR, admins[0].address),
      ).to.be.revertedWithCustomError(registry, "AccessControlBadConfirmation");
    });
  });

  describe("views", function () {
    it("reverts getSite for an unknown site and reports None elsewhere", async function () {
      const { registry, sites } = await loadFixture(registryFixture);
      await expect(registry.getSite(sites[0].address))
        .to.be.revertedWithCustomError(registry, "RegistryUnknownSite")
        .withArgs(sites[0].address);
      expect(await registry.siteStatus(sites[0].address)).to.equal(SiteStatus.None);
      expect(await registry.isActiveSite(sites[0].address)).to.equal(false);
      expect(await registry.hasApproved(ethers.ZeroHash, sites[0].address)).to.equal(false);
    });

    it("computes proposal ids as documented", async function () {
      const { registry, admins, sites, aggregator } = await loadFixture(registryFixture);
      const registryAddress = await registry.getAddress();
      const op = sites[0].address;
      // Deploying granted three admins, one epoch step each; proposing moves the site's nonce to 1.
      await proposeSite(registry, admins[0], op);
      expect(await registry.siteProposalId(op, SiteStatus.Active)).to.equal(
        proposalId(1, op, word(SiteStatus.Active), 1n, 3n),
      );
      expect(await registry.siteProposalId(op, SiteStatus.Removed)).to.equal(
        proposalId(1, op, word(SiteStatus.Removed), 1n, 3n),
      );
      const roleParameter = ethers.keccak256(coder.encode(["bytes32", "bool"], [Role.AUDITOR, false]));
      expect(await registry.roleProposalId(Role.AUDITOR, aggregator.address, false)).to.equal(
        proposalId(2, aggregator.address, roleParameter, 0n, 3n),
      );
      expect(await registry.quorumProposalId(1)).to.equal(proposalId(3, registryAddress, word(1), 0n, 3n));
    });

    it("exposes the epoch and the admin seats that votes held outside the registry need", async function () {
      const { registry, admins, signers, outsider } = await loadFixture(registryFixture);
      // Three admins granted at deployment: epoch 3, seats 1, 2 and 4.
      expect(await registry.epoch()).to.equal(3n);
      const seats = await Promise.all(admins.map((a) => registry.adminSeat(a.address)));
      expect(seats).to.deep.equal([1n, 2n, 4n]);
      expect(await registry.adminSeat(outsider.address)).to.equal(0n);
      // A quorum change and an admin change each move the epoch; a removed admin's seat goes to the next one.
      await registry.connect(admins[0]).voteQuorum(3);
      await registry.connect(admins[1]).voteQuorum(3);
      expect(await registry.epoch()).to.equal(4n);
      const fourth = signers[20];
      for (const admin of admins) await registry.connect(admin).voteRole(Role.ADMIN, fourth.address, true);
      expect(await registry.epoch()).to.equal(5n);
      expect(await registry.adminSeat(fourth.address)).to.equal(8n);
      for (const admin of [admins[0], admins[2], fourth])
        await registry.connect(admin).voteRole(Role.ADMIN, admins[1].address, false);
      expect(await registry.epoch()).to.equal(6n);
      expect(await registry.adminSeat(admins[1].address)).to.equal(0n);
      const fifth = signers[21];
      for (const admin of [admins[0], admins[2], fourth])
        await registry.connect(admin).voteRole(Role.ADMIN, fifth.address, true);
      expect(await registry.adminSeat(fifth.address)).to.equal(2n);
    });

    it("counts departures from Active: suspension and removal of an Active site, nothing else", async function () {
      const { registry, admins, sites } = await loadFixture(registryFixture);
      const counts = async () => registry.activeSiteCounts();
      expect(await counts()).to.deep.equal([0n, 0n]);
      for (const site of sites.slice(0, 3)) {
        await proposeSite(registry, admins[0], site.address);
        await registry.connect(admins[1]).approveSite(site.address);
      }
      expect(await counts()).to.deep.equal([3n, 0n]);
      await registry.connect(admins[0]).suspendSite(sites[0].address, hashOf("r"));
      expect(await counts()).to.deep.equal([2n, 1n]);
      // Reinstating brings the site back without undoing the departure.
      await registry.connect(admins[0]).reinstateSite(sites[0].address);
      await registry.connect(admins[1]).reinstateSite(sites[0].address);
      expect(await counts()).to.deep.equal([3n, 1n]);
      // Removing an Active site is a departure; removing a Suspended or a Proposed site is not.
      await registry.connect(admins[0]).removeSite(sites[1].address);
      await registry.connect(admins[1]).removeSite(sites[1].address);
      expect(await counts()).to.deep.equal([2n, 2n]);
      await registry.connect(admins[0]).suspendSite(sites[2].address, hashOf("r"));
      await registry.connect(admins[0]).removeSite(sites[2].address);
      await registry.connect(admins[1]).removeSite(sites[2].address);
      await proposeSite(registry, admins[0], sites[3].address);
      await registry.connect(admins[0]).removeSite(sites[3].address);
      await registry.connect(admins[1]).removeSite(sites[3].address);
      expect(await counts()).to.deep.equal([1n, 3n]);
      expect(await registry.activeSiteCount()).to.equal(1n);
    });

    it("supports the IAccessControl interface id", async function () {
      const { registry } = await loadFixture(registryFixture);
      expect(await registry.supportsInterface("0x7965db0b")).to.equal(true);
    });
  });
});
