import { expect } from "chai";
import { ethers } from "hardhat";
import { ConsortiumRegistry__factory } from "../../typechain-types";
import { devAccountAddress, DEV_ACCOUNT_NAMES } from "../../node/chain/devAccounts";
import { ROLES, siteStatusName } from "../../node/chain/vocabulary";

describe("chain vocabulary and dev accounts", function () {
  it("uses the registry's role identifiers", async function () {
    const [deployer] = await ethers.getSigners();
    const registry = await new ConsortiumRegistry__factory(deployer).deploy([deployer.address], 1);
    expect(await registry.ADMIN_ROLE()).to.equal(ROLES.admin);
    expect(await registry.AGGREGATOR_ROLE()).to.equal(ROLES.aggregator);
    expect(await registry.AUDITOR_ROLE()).to.equal(ROLES.auditor);
    expect(await registry.SITE_ROLE()).to.equal(ROLES.site);
  });

  it("names site statuses as the registry numbers them", async function () {
    const [admin, site] = await ethers.getSigners();
    const registry = await new ConsortiumRegistry__factory(admin).deploy([admin.address], 1);
    expect(siteStatusName(await registry.siteStatus(site.address))).to.equal("None");
    await registry.proposeSite(
      site.address,
      "Tartu Ülikooli Kliinikum",
      "0x4545",
      "et",
      ethers.ZeroHash,
      "0x",
    );
    expect(siteStatusName(await registry.siteStatus(site.address))).to.equal("Active");
    await registry.suspendSite(site.address, ethers.ZeroHash);
    expect(siteStatusName(await registry.siteStatus(site.address))).to.equal("Suspended");
    await registry.removeSite(site.address);
    expect(siteStatusName(await registry.siteStatus(site.address))).to.equal("Removed");
  });

  it("maps dev account names to Hardhat's funded development accounts in order", async function () {
    const signers = await ethers.getSigners();
    expect(signers.length).to.be.at.least(DEV_ACCOUNT_NAMES.length);
    expect(DEV_ACCOUNT_NAMES.map((name) => devAccountAddress(name))).to.deep.equal(
      signers.slice(0, DEV_ACCOUNT_NAMES.length).map((signer) => signer.address),
    );
  });
});
