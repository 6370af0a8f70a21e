import { expect } from "chai";
import { cp, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { connectChain, type ChainConnection } from "../../node/chain/connection";
import { saveDeployment } from "../../node/chain/deployment";
import { devAccountWallet } from "../../node/chain/devAccounts";
import type { AuditReport } from "../../node/audit";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli, type CliResult } from "../helpers/cli";
import { buildHistory, type History, type HistoryActors } from "./fixture";

/*
 * The real `fedledger audit` executable against a real Hardhat node: exit code 0 for a clean model, 1 with the
 * broken link named on stderr, 2 for an unreachable chain or store.
 */
describe("fedledger audit (CLI)", function () {
  const chain = useEmbeddedChain();
  let connection: ChainConnection;
  let dir: string;
  let deploymentFile: string;
  let modelFile: string;
  let h: History;
  let actors: HistoryActors;

  function cli(args: string[]): Promise<CliResult> {
    return runCli(["audit", ...args], { cwd: dir, env: { FEDLEDGER_DEPLOYMENT: deploymentFile } });
  }

  before(async function () {
    this.timeout(120_000);
    dir = await makeTempDir("fedledger-audit-cli-");
    connection = await connectChain({ rpc: chain().url });
    const wallet = (name: string) => devAccountWallet(name, connection.provider);
    actors = {
      admin: wallet("admin1"),
      aggregator: wallet("aggregator"),
      auditor: wallet("auditor"),
      sites: ["site1", "site2", "site3"].map(wallet),
    };
    h = await buildHistory({
      actors,
      storeDir: path.join(dir, "store"),
      rounds: 2,
    });
    deploymentFile = path.join(dir, "deployment.json");
    await saveDeployment(deploymentFile, {
      chainId: Number(h.chainId),
      rpc: chain().url,
      registry: h.registryAddress,
      ledger: h.ledgerAddress,
      deployBlock: h.deployBlock,
      deployBlockHash: (await connection.provider.getBlock(h.deployBlock))?.hash ?? undefined,
      deployer: wallet("admin1").address,
      quorum: 1,
      admins: [wallet("admin1").address],
      deployedAt: new Date().toISOString(),
    });
    modelFile = path.join(dir, "global-r2.flm");
    await writeFile(modelFile, h.finalModel.bytes);
  });

  after(async function () {
    connection?.provider.destroy();
    await removeTempDir(dir);
  });

  it("exits 0 for the clean model and records the verdict with --record", async function () {
    const res = await cli([
      "verify",
      "--model",
      modelFile,
      "--store",
      h.storeDir,
      "--record",
      "--dev-account",
      "auditor",
    ]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.contain("verdict: PASSED").and.contain("round 2 of task 1: PASSED");
    expect(res.stdout).to.match(/verdict recorded on the chain: transaction 0x[0-9a-f]{64}/);
    const reportHash = /report hash: (0x[0-9a-f]{64})/.exec(res.stdout)?.[1];
    const events = await h.ledger.queryFilter(h.ledger.filters.ModelAudited(h.finalModel.hash));
    expect(events.map((e) => [e.args.passed, e.args.reportHash])).to.deep.equal([[true, reportHash]]);
  });

  it("reads the chain with one log query per event type and batched calls", async function () {
    // A counting proxy between the CLI and the node.
    const methods: string[] = [];
    let requests = 0;
    const proxy = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", async () => {
        requests++;
        const parsed = JSON.parse(body) as { method: string } | { method: string }[];
        for (const call of Array.isArray(parsed) ? parsed : [parsed]) methods.push(call.method);
        const answer = await fetch(chain().url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const rpc = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const res = await cli(["verify", "--model", modelFile, "--store", h.storeDir, "--rpc", rpc]);
      expect(res.code, res.stderr).to.equal(0);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
    const count = (method: string) => methods.filter((m) => m === method).length;
    // Six event types of the task (RoundUnmasked included), SiteProposed and SiteStatusChanged of the registry.
    expect(count("eth_getLogs")).to.equal(8);
    expect(requests).to.be.below(methods.length / 2);
  });

  it("exits 1 and names the first broken link on stderr", async function () {
    const store = path.join(dir, "tampered-store");
    await cp(h.storeDir, store, { recursive: true });
    const victim = h.rounds[0].updates[1];
    const file = path.join(store, "objects", victim.updateHash.slice(2));
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0x04;
    await writeFile(file, bytes);
    const res = await cli(["verify", "--model", modelFile, "--store", store, "--json"]);
    expect(res.code).to.equal(1);
    const report = JSON.parse(res.stdout) as AuditReport;
    expect(report.firstBrokenLink).to.deep.include({
      code: "update_hash_mismatch",
      round: 1,
      site: victim.site,
    });
    const lines = res.stderr.trim().split("\n");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^error: audit failed: round 1 of task 1, site 0x[0-9a-fA-F]{40} .*hash to 0x/);
  });

  it("exits 2 when the chain or the store cannot be reached", async function () {
    const noChain = await runCli(
      ["audit", "verify", "--model", modelFile, "--store", h.storeDir, "--ledger", h.ledgerAddress],
      { cwd: dir, env: { FEDLEDGER_RPC: "http://127.0.0.1:9" } },
    );
    expect(noChain.code).to.equal(2);
    expect(noChain.stderr).to.match(/^error: cannot reach the chain at http:\/\/127\.0\.0\.1:9/);
    const noStore = await cli(["verify", "--model", modelFile, "--store", "http://127.0.0.1:9"]);
    expect(noStore.code).to.equal(2);
    expect(noStore.stderr).to.contain("cannot reach the aggregator store at http://127.0.0.1:9");
  });

  it("prints findings as warnings with exit 0, and exits 1 on them with --strict", async function () {
    // A second task on the same ledger whose aggregator left out a valid, stored update.
    const censored = await buildHistory({
      actors,
      registry: h.registry,
      ledger: h.ledger,
      storeDir: path.join(dir, "censored-store"),
      rounds: 1,
      seed: 12,
      excluded: () => [0],
      excludedUploaded: true,
    });
    const file = path.join(dir, "censored.flm");
    await writeFile(file, censored.finalModel.bytes);
    const args = ["verify", "--model", file, "--store", censored.storeDir];
    const lenient = await cli(args);
    expect(lenient.code, lenient.stderr).to.equal(0);
    expect(lenient.stdout).to.contain("verdict: PASSED").and.contain("! update_left_out:");
    expect(lenient.stderr).to.match(/^warning: update_left_out: round 1 of task 2, site 0x/);
    const strict = await cli([...args, "--strict", "--record", "--dev-account", "auditor"]);
    expect(strict.code).to.equal(1);
    const lines = strict.stderr.trim().split("\n");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(
      /^error: audit failed \(--strict\): round 1 of task 2, site 0x[0-9a-fA-F]{40} .*left it out/,
    );
    const events = await h.ledger.queryFilter(h.ledger.filters.ModelAudited(censored.finalModel.hash));
    expect(events.map((e) => e.args.passed)).to.deep.equal([false]);
  });

  it("prints the lineage as a Mermaid diagram", async function () {
    const res = await cli([
      "lineage",
      "--model",
      h.finalModel.hash,
      "--store",
      h.storeDir,
      "--format",
      "mermaid",
    ]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.match(/^flowchart TD/);
    expect(res.stdout.match(/ -\. "/g)).to.have.length(6);
  });
});
