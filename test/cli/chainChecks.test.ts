import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { devAccountAddress } from "../../node/chain/devAccounts";
import { startEmbeddedChain } from "../../node/chain/embeddedChain";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import { expectOneLineError } from "./expectations";

/*
 * Chain identity checks against a real Hardhat node that reports chain id 1337 instead of the embedded 31337:
 * the public dev accounts must be refused there, and a chain-id or deployment mismatch must stop a command.
 */
describe("fedledger CLI: chain identity checks", function () {
  const chain = useEmbeddedChain({ chainId: 1337 });
  let dir: string;

  before(async function () {
    dir = await makeTempDir();
  });
  after(async function () {
    await removeTempDir(dir);
  });

  it("refuses public dev accounts on a chain whose id is not 31337", async function () {
    const res = await runCli(["deploy", "--rpc", chain().url, "--dev-account", "admin1"], {
      env: { FEDLEDGER_DEPLOYMENT: path.join(dir, "d.json") },
    });
    expectOneLineError(
      res,
      2,
      /--dev-account admin1 is refused on chain id 1337: dev accounts are public keys/,
    );
  });

  it("stops when --chain-id differs from the node's chain id", async function () {
    const res = await runCli(
      ["deploy", "--rpc", chain().url, "--chain-id", "31337", "--dev-account", "admin1"],
      {
        env: { FEDLEDGER_DEPLOYMENT: path.join(dir, "d.json") },
      },
    );
    expectOneLineError(res, 2, /has chain id 1337, but 31337 was expected/);
  });

  it("stops when the deployment file belongs to another chain", async function () {
    const file = path.join(dir, "other-chain.json");
    const admin = devAccountAddress("admin1");
    const deployment = {
      ...{
        chainId: 31337,
        rpc: chain().url,
        registry: admin,
        ledger: admin,
        deployBlock: 1,
        deployer: admin,
      },
      ...{ quorum: 1, admins: [admin], deployedAt: new Date().toISOString() },
    };
    await writeFile(file, JSON.stringify(deployment));
    const res = await runCli(["site", "list"], { env: { FEDLEDGER_DEPLOYMENT: file } });
    expectOneLineError(res, 1, /is for chain id 31337, but the chain at .* has chain id 1337/);
  });

  it("names the bad field of a malformed deployment file", async function () {
    const file = path.join(dir, "malformed.json");
    await writeFile(file, JSON.stringify({ chainId: 1337, rpc: chain().url, registry: "0x12" }));
    const res = await runCli(["role", "list"], { env: { FEDLEDGER_DEPLOYMENT: file } });
    expectOneLineError(
      res,
      2,
      /the deployment file .*malformed\.json is malformed: registry: not an address/,
    );
  });

  it("does not start a second node on a port that is taken", async function () {
    const port = Number(new URL(chain().url).port);
    let error: Error | undefined;
    try {
      await startEmbeddedChain({ port });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/EADDRINUSE/);
  });

  it("stops a node it started, after which the URL is dead", async function () {
    const node = await startEmbeddedChain();
    expect(node.chainId).to.equal(31337);
    await node.stop();
    await node.stop();
    const res = await runCli(["site", "list", "--rpc", node.url], {
      env: { FEDLEDGER_DEPLOYMENT: path.join(dir, "other-chain.json") },
    });
    expectOneLineError(res, 1, /cannot reach the chain at/);
  });
});
