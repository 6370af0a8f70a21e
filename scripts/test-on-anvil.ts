/**
 * `npm run test:anvil-network [-- <test files>]`: the tests written against Hardhat's in-process network (the
 * contract tests, and the ones that deploy fixtures with `ethers` from "hardhat"), run against a real anvil node
 * over JSON-RPC instead. `npm test` runs them in-process; this runs the same files on the other EVM.
 *
 * Starts anvil on a free loopback port with the 40 development accounts, points Hardhat's `chainnode` network
 * at it (FEDLEDGER_TEST_RPC), runs `hardhat test --network chainnode` on the files, stops the node, and exits
 * with the tests' exit code. Without files it runs every test file that imports from "hardhat".
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { packageRoot, startEmbeddedChain } from "../node/chain";

async function testFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await testFiles(file)));
    else if (entry.name.endsWith(".test.ts") && /from "hardhat"/.test(await readFile(file, "utf8")))
      out.push(file);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const root = packageRoot();
  const given = process.argv.slice(2);
  const files = given.length > 0 ? given : await testFiles(path.join(root, "test"));
  const chain = await startEmbeddedChain({ node: "anvil", port: 0 });
  process.stdout.write(`anvil at ${chain.url}; ${files.length} test file(s) on it\n`);
  try {
    const hardhat = require.resolve("hardhat/internal/cli/cli.js", { paths: [root] });
    const child = spawn(
      process.execPath,
      [
        hardhat,
        "test",
        "--no-compile",
        "--network",
        "chainnode",
        ...files.map((f) => path.relative(root, f)),
      ],
      { cwd: root, stdio: "inherit", env: { ...process.env, FEDLEDGER_TEST_RPC: chain.url } },
    );
    return await new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? 1)));
  } finally {
    await chain.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
