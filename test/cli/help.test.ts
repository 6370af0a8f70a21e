import { expect } from "chai";
import { buildProgram } from "../../node/cli/main";

describe("fedledger command help", function () {
  const mine = ["chain", "key", "deploy", "site", "role", "task"];

  it("gives every admin command a description and an example", function () {
    const program = buildProgram();
    const leaves = program.commands
      .filter((command) => mine.includes(command.name()))
      .flatMap((command) => (command.commands.length > 0 ? command.commands : [command]));
    expect(leaves.length).to.be.greaterThan(12);
    for (const leaf of leaves) {
      expect(leaf.description(), leaf.name()).to.not.equal("");
      let help = "";
      leaf.configureOutput({ writeOut: (text) => (help += text) });
      leaf.outputHelp();
      expect(help, `${leaf.parent?.name()} ${leaf.name()}`).to.match(/Example:\n {2}fedledger /);
    }
  });
});
