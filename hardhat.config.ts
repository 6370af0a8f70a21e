import { extendEnvironment, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";

/**
 * The Solidity compiler comes from the `solc` npm package (solc/soljson.js), so compiling needs no
 * download. The version below must equal the installed `solc` package version.
 */
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  const longVersion = solc.version();
  if (args.solcVersion === SOLC_VERSION && longVersion.startsWith(SOLC_VERSION)) {
    return {
      compilerPath: require.resolve("solc/soljson.js"),
      isSolcJs: true,
      version: args.solcVersion,
      longVersion,
    };
  }
  return runSuper();
});

/**
 * On the `chainnode` network (a real anvil node, `npm run test:anvil-network`), a sent transaction resolves only
 * once its receipt exists. Hardhat's node mines a transaction before it answers the send; anvil answers first and
 * mines a moment later, and the tests written for the in-process network read the chain right after a send.
 * Only the tests' provider is changed: fedledger's own code waits for receipts itself (waitForReceipt).
 */
extendEnvironment((hre) => {
  if (hre.network.name !== "chainnode") return;
  const provider = hre.network.provider;
  const request = provider.request.bind(provider);
  const mined = async (hash: unknown) => {
    for (let i = 0; i < 2_000; i++) {
      if (await request({ method: "eth_getTransactionReceipt", params: [hash] })) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const sends = new Set(["eth_sendTransaction", "eth_sendRawTransaction"]);
  provider.request = async (args) => {
    const result = await request(args);
    if (sends.has(args.method)) await mined(result);
    return result;
  };
  const send = provider.send.bind(provider);
  provider.send = async (method: string, params?: unknown[]) => {
    const result = await send(method, params);
    if (sends.has(method)) await mined(result);
    return result;
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "./contracts",
    tests: "./test",
    cache: "./cache",
    artifacts: "./artifacts",
  },
  typechain: {
    outDir: "typechain-types",
    target: "ethers-v6",
  },
  mocha: {
    timeout: 120_000,
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
  },
  networks: {
    hardhat: {
      // `startEmbeddedChain({ chainId })` sets FEDLEDGER_EMBEDDED_CHAIN_ID, e.g. to test chain-id checks.
      chainId: Number(process.env.FEDLEDGER_EMBEDDED_CHAIN_ID ?? "31337"),
      // Public development accounts (Hardhat's default mnemonic): admin1-3, aggregator, auditor, site1-35.
      // `startEmbeddedChain({ accounts })` sets FEDLEDGER_DEV_ACCOUNTS for a different count.
      accounts: { count: Number(process.env.FEDLEDGER_DEV_ACCOUNTS ?? "40") },
      // `startEmbeddedChain({ node: "hardhat", blockTime })` sets FEDLEDGER_BLOCK_TIME (seconds between blocks).
      ...(process.env.FEDLEDGER_BLOCK_TIME
        ? { mining: { auto: false, interval: Number(process.env.FEDLEDGER_BLOCK_TIME) * 1000 } }
        : {}),
    },
    // The tests that use Hardhat's in-process network, run against a real node instead: `npm run
    // test:anvil-network` starts an anvil node and sets FEDLEDGER_TEST_RPC (scripts/test-on-anvil.ts).
    chainnode: {
      url: process.env.FEDLEDGER_TEST_RPC ?? "http://127.0.0.1:8545",
      chainId: 31337,
      timeout: 120_000,
    },
    localhost: {
      url: process.env.FEDLEDGER_RPC ?? "http://127.0.0.1:8545",
      chainId: 31337,
    },
  },
};

export default config;
