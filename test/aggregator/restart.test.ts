import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { devAccountAddress, devAccountWallet } from "../../node/chain/devAccounts";
import { freePort } from "../../node/chain/freePort";
import { fetchModel } from "../../node/aggregator/client";
import { fedAvgAggregate } from "../../node/fl";
import { useEmbeddedChain } from "../helpers/chain";
import { CLI_PATH, makeTempDir, removeTempDir } from "../helpers/cli";
import {
  commitAndSign,
  createTask,
  deltaFor,
  deployConsortium,
  genesisFor,
  sha256,
  tinySpec,
  until,
  upload,
} from "./fixture";

/** The real `fedledger aggregator run` process, with its JSON log lines. */
interface AggregatorProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function startCli(config: string): AggregatorProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("FEDLEDGER_") && v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [CLI_PATH, "aggregator", "run", "--config", config], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      if (stderr) lines.push(`stderr: ${stderr}`);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

function events(p: AggregatorProcess): string[] {
  return p.lines.filter((l) => l.startsWith("{")).map((l) => (JSON.parse(l) as { event: string }).event);
}

describe("aggregator restart (real CLI process, real Hardhat node, SIGKILL)", function () {
  this.timeout(120_000);
  const chain = useEmbeddedChain();
  let dir: string;
  let running: AggregatorProcess | undefined;

  before(async () => {
    dir = await makeTempDir("fedledger-restart-");
  });
  after(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill("SIGKILL");
      await running.exited;
    }
    await removeTempDir(dir);
  });

  it("loses no accepted update and finalises the same model after being killed", async function () {
    const provider = new JsonRpcProvider(chain().url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const admin = devAccountWallet("admin1", provider);
    const sites = [devAccountWallet("site1", provider), devAccountWallet("site2", provider)];
    const { registry, ledger } = await deployConsortium(admin, devAccountAddress("aggregator"), sites);
    const spec = tinySpec();
    const genesis = genesisFor(spec);
    const task = await createTask(ledger, spec, genesis, { minSites: 2, windowSeconds: 3600, rounds: 1 });

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
        pollIntervalMs: 100,
        uploadGraceSeconds: 0,
      }),
    );
    const url = `http://127.0.0.1:${port}`;

    running = startCli(config);
    await until(
      "round 1 open",
      async () => ((await ledger.getRound(task, 1)).status === 1n ? true : undefined),
      60_000,
    );
    const first = await commitAndSign(sites[0], ledger, 31337n, task, 1, deltaFor(spec, 1), 120n, {
      loss: 0.4,
    });
    const second = await commitAndSign(sites[1], ledger, 31337n, task, 1, deltaFor(spec, 2), 80n, {
      loss: 0.5,
    });
    expect((await upload(url, task, 1, first)).created).to.equal(true);

    running.child.kill("SIGKILL");
    expect(await running.exited).to.equal(null);
    expect(events(running)).to.include("upload_accepted");
    expect(events(running)).to.not.include("round_aggregated");

    running = startCli(config);
    await until(
      "the restarted API",
      async () => {
        try {
          return (await fetch(`${url}/health`)).ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
    const status = (await (await fetch(`${url}/tasks/${task}/rounds/1`)).json()) as {
      uploads: { site: string }[];
    };
    expect(status.uploads.map((u) => u.site)).to.deep.equal([first.site]);
    expect((await upload(url, task, 1, first)).created).to.equal(false);

    // The last upload completes the round before its deadline (every active site committed and uploaded).
    expect((await upload(url, task, 1, second)).created).to.equal(true);
    const round = await until(
      "round 1 finalised",
      async () => {
        const r = await ledger.getRound(task, 1);
        return r.status === 2n ? r : undefined;
      },
      60_000,
    );
    const undisturbed = await fedAvgAggregate(
      genesis,
      [first, second].map((u) => ({ site: u.site, numSamples: u.numSamples, bytes: async () => u.bytes })),
    );
    expect(round.modelHash).to.equal(sha256(undisturbed));
    expect(round.includedCount).to.equal(2n);
    expect((await fetchModel(url, round.modelHash)).equals(Buffer.from(undisturbed))).to.equal(true);
    const finalized = await ledger.queryFilter(ledger.filters.RoundFinalized(task));
    expect(finalized).to.have.length(1);

    await until("task done", async () => (events(running!).includes("task_done") ? true : undefined), 30_000);
    running.child.kill("SIGTERM");
    expect(await running.exited).to.equal(0);
    for (const line of running.lines) expect(() => JSON.parse(line), line).to.not.throw();
    expect(events(running)).to.not.include("driver_step_failed");
    provider.destroy();
  });
});
