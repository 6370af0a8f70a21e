import {
  startEmbeddedChain,
  type EmbeddedChain,
  type StartEmbeddedChainParameters,
} from "../../node/chain/embeddedChain";

/**
 * Starts a real Hardhat node process on a free loopback port for the enclosing mocha `describe` block and stops
 * it afterwards. Returns a getter, because the chain exists only once the `before` hook has run.
 *
 * @example
 * describe("my end-to-end test", function () {
 *   const chain = useEmbeddedChain();
 *   it("talks to the chain", async function () {
 *     const res = await fetch(chain().url, …);
 *   });
 * });
 */
export function useEmbeddedChain(params: StartEmbeddedChainParameters = {}): () => EmbeddedChain {
  let chain: EmbeddedChain | undefined;
  before(async function () {
    this.timeout(90_000);
    chain = await startEmbeddedChain({ ...params, port: 0 });
  });
  after(async function () {
    this.timeout(15_000);
    await chain?.stop();
  });
  return () => {
    if (!chain) throw new Error("the embedded chain is not running (use the getter inside tests or hooks)");
    return chain;
  };
}

/** Starts a Hardhat node on a free loopback port; the caller must call stop(). See startEmbeddedChain. */
export function startTestChain(params: StartEmbeddedChainParameters = {}): Promise<EmbeddedChain> {
  return startEmbeddedChain({ ...params, port: 0 });
}

/** One JSON-RPC call to a test node (the node's error message is thrown as is). */
export { rawRpc as rpc } from "../../node/chain/rawRpc";
