import { expect } from "chai";
import { Interface } from "ethers";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import { decodeChainError } from "../../node/chain/describeChainError";
import { ERROR_EXPLANATIONS } from "../../node/chain/errorExplanations";

describe("chain error explanations", function () {
  const abis = [ConsortiumRegistry__factory.abi, TrainingLedger__factory.abi];
  const errorNames = new Set(
    abis.flatMap((abi) =>
      (abi as readonly { type: string; name?: string }[])
        .filter((e) => e.type === "error")
        .map((e) => e.name as string),
    ),
  );

  it("explains every custom error of both contracts", function () {
    const missing = [...errorNames].filter((name) => !ERROR_EXPLANATIONS[name]);
    expect(missing).to.deep.equal([]);
  });

  it("has no entries for errors the contracts do not define", function () {
    expect(Object.keys(ERROR_EXPLANATIONS).filter((name) => !errorNames.has(name))).to.deep.equal([]);
  });

  it("decodes enum arguments by name", function () {
    const iface = new Interface(ConsortiumRegistry__factory.abi);
    const operator = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
    const data = iface.encodeErrorResult("RegistryInvalidSiteStatus", [operator, 3, 2]);
    const decoded = decodeChainError(data);
    expect(decoded?.contract).to.equal("registry");
    expect(decoded?.args.map((arg) => `${arg.name} ${arg.text}`)).to.deep.equal([
      `operator ${operator}`,
      "status Suspended",
      "expected Active",
    ]);
  });
});
