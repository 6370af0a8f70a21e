/**
 * The memory probe of issue 10 against real processes: the `fedledger aggregator run` CLI and a Hardhat node.
 * Twenty concurrent 60 MiB uploads signed by keys that are not sites must be refused without the aggregator
 * reading them: its upload-bytes counter stays at zero and its resident memory does not grow with them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import http from "node:http";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { devAccountAddress, devAccountWallet } from "../../node/chain/devAccounts";
import { freePort } from "../../node/chain/freePort";
import { encodeMetricsHeader } from "../../node/aggregator/envelope";
import { metricsHash, signUpdate } from "../../node/fl";
import { useEmbeddedChain } from "../helpers/chain";
import { CLI_PATH, makeTempDir, removeTempDir } from "../helpers/cli";
import { createTask, deployConsortium, genesisFor, sha256, tinySpec, until } from "./fixture";

const MiB = 1024 * 1024;

function rssMiB(pid: number): Promise<number> {
  return fs
    .readFile(`/proc/${pid}/status`, "utf8")
    .then((text) => Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? NaN) / 1024);
}

/** Sends the whole body without waiting; resolves the status, or "reset" when the connection was closed. */
function blast(url: string, headers: Record<string, string>, body: Buffer): Promise<number | "reset"> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: "PUT",
      headers: { ...headers, "content-length": String(body.length) },
      agent: false,
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve("reset"));
    });
    req.on("error", () => resolve("reset"));
    req.end(body);
  });
}

describe("aggregator memory under unauthenticated uploads (real CLI process, real Hardhat node)", function () {
  this.timeout(180_000);
  const chain = useEmbeddedChain();
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = await makeTempDir("fedledger-hostile-process-");
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await removeTempDir(dir);
  });

  it("refuses 20 concurrent 60 MiB uploads from non-sites without reading them or growing", async function () {
    if (!existsSync("/proc/self/status")) this.skip();
    const provider = new JsonRpcProvider(chain().url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const admin = devAccountWallet("admin1", provider);
    const { registry, ledger } = await deployConsortium(admin, devAccountAddress("aggregator"), [
      devAccountWallet("site1", provider),
    ]);
    const spec = tinySpec();
    const genesis = genesisFor(spec);
    const task = await createTask(ledger, spec, genesis, { minSites: 1, windowSeconds: 3600, rounds: 1 });
    await fs.writeFile(path.join(dir, "spec.json"), JSON.stringify(spec));
    await fs.writeFile(path.join(dir, "genesis.flm"), genesis);
    const port = await freePort();
    const config = path.join(dir, "aggregator.json");
    await fs.writeFile(
      config,
      JSON.stringify({
        rpc: chain().url,
        chainId: 31337,
        ledger: await ledger.getAddress(),
        registry: await registry.getAddress(),
        signer: { devAccount: "aggregator" },
        taskId: Number(task),
        modelSpec: "spec.json",
        genesisModel: "genesis.flm",
        storeDir: "store",
        listen: { port },
        pollIntervalMs: 200,
      }),
    );
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith("FEDLEDGER_") && v !== undefined) env[k] = v;
    child = spawn(process.execPath, [CLI_PATH, "aggregator", "run", "--config", config], {
      env,
      stdio: ["ignore", "ignore", "ignore"],
    });
    const url = `http://127.0.0.1:${port}`;
    await until(
      "round 1 open",
      async () => ((await ledger.getRound(task, 1)).status === 1n ? true : undefined),
      60_000,
    );
    const pid = child.pid as number;
    const before = await rssMiB(pid);

    const body = Buffer.alloc(60 * MiB, 9);
    const updateHash = sha256(body);
    const metrics = { loss: 1 };
    const probes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const key = new Wallet(`0x${(5000 + i).toString(16).padStart(64, "0")}`);
        const signature = await signUpdate(
          key,
          { chainId: 31337n, ledger: await ledger.getAddress() },
          { taskId: task, round: 1, updateHash, numSamples: 10n, metricsHash: metricsHash(metrics) },
        );
        return blast(
          `${url}/tasks/${task}/rounds/1/updates`,
          {
            "content-type": "application/octet-stream",
            "x-fedledger-site": key.address,
            "x-fedledger-update-hash": updateHash,
            "x-fedledger-num-samples": "10",
            "x-fedledger-metrics": encodeMetricsHeader(metrics),
            "x-fedledger-signature": signature,
          },
          body,
        );
      }),
    );
    const after = await rssMiB(pid);
    for (const p of probes) expect([403, "reset"]).to.include(p);

    const text = await (await fetch(`${url}/metrics`)).text();
    const read = /fedledger_aggregator_upload_body_bytes_read_total (\d+)/.exec(text)?.[1];
    const refused = /fedledger_aggregator_uploads_rejected_total\{reason="not_active_site"\} (\d+)/.exec(
      text,
    )?.[1];
    expect(read).to.equal("0");
    expect(Number(refused)).to.equal(20);
    if (process.env.FEDLEDGER_REPORT_RSS)
      console.log(`aggregator RSS ${before.toFixed(0)} MiB before, ${after.toFixed(0)} MiB after the probe`);
    // 20 × 60 MiB = 1,200 MiB were sent; reading them (as before issue 10) grew the process by over 1 GiB.
    expect(after - before, `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB`).to.be.below(100);
    expect(await fs.readdir(path.join(dir, "store", "rounds"))).to.deep.equal([]);
    child.kill("SIGTERM");
    provider.destroy();
  });
});
