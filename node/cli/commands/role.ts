import type { Command } from "commander";
import { UsageError } from "../../errors";
import { roleHolders, confirmTransaction, receiptEvents, ROLES, VOTED_ROLES } from "../../chain";
import {
  addChainOptions,
  addSignerOptions,
  withSession,
  withSigningSession,
  type ChainFlags,
  type SignerFlags,
} from "./chainOptions";
import { parseAddress, parseInteger } from "./inputs";
import { printFields, printJson, printLines } from "./output";

type VotedRole = (typeof VOTED_ROLES)[number];

interface WriteOptions extends ChainFlags, SignerFlags {
  json?: boolean;
}

function parseRole(value: string): VotedRole {
  const role = VOTED_ROLES.find((name) => name === value.toLowerCase());
  if (role) return role;
  if (value.toLowerCase() === "site")
    throw new UsageError("the site role is not voted on", "Sites join with `fedledger site propose`");
  throw new UsageError(`unknown role "${value}"`, `Use one of ${VOTED_ROLES.join(", ")}`);
}

/** Registers `fedledger role grant|revoke|list|quorum`. */
export function registerRoleCommands(program: Command): void {
  const role = program
    .command("role")
    .description("vote on the admin, aggregator and auditor roles and on the quorum; list role holders");

  for (const grant of [true, false]) {
    const verb = grant ? "grant" : "revoke";
    const command = role
      .command(`${verb} <role> <address>`)
      .description(`vote to ${verb} a role (admin, aggregator or auditor); the change happens at the quorum`)
      .option("--json", "print the outcome as JSON")
      .addHelpText(
        "after",
        `\nExample:\n  fedledger role ${verb} aggregator 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --dev-account admin1`,
      );
    addSignerOptions(addChainOptions(command)).action(
      async (roleArg: string, addressArg: string, opts: WriteOptions) => {
        const name = parseRole(roleArg);
        const account = parseAddress(addressArg, "account");
        await withSigningSession(opts, async ({ registry }) => {
          const receipt = await confirmTransaction(registry.voteRole(ROLES[name], account, grant));
          const changed = receiptEvents(receipt, registry, grant ? "RoleGranted" : "RoleRevoked").length > 0;
          const vote = receiptEvents(receipt, registry, "RoleVote")[0];
          const approvals = vote ? Number(vote.args.approvals) : undefined;
          const quorum = vote ? Number(vote.args.quorum) : undefined;
          const holds = await registry.hasRole(ROLES[name], account);
          if (opts.json)
            return printJson({
              role: name,
              account,
              grant,
              changed,
              holds,
              approvals,
              quorum,
              transaction: receipt.hash,
            });
          if (changed) printLines(`${account} ${grant ? "now holds" : "no longer holds"} the ${name} role`);
          else
            printLines(
              `approval recorded (${approvals} of ${quorum}); ${account} ${holds ? "keeps" : "does not hold"} the ` +
                `${name} role until ${Number(quorum) - Number(approvals)} more admin(s) vote to ${verb} it`,
            );
        });
      },
    );
  }

  const quorum = role
    .command("quorum <k>")
    .description("vote to change the number of admin approvals a registry change needs")
    .option("--json", "print the outcome as JSON")
    .addHelpText("after", "\nExample:\n  fedledger role quorum 3 --dev-account admin1");
  addSignerOptions(addChainOptions(quorum)).action(async (value: string, opts: WriteOptions) => {
    const newQuorum = parseInteger(value, "quorum", 1, 255);
    await withSigningSession(opts, async ({ registry }) => {
      const receipt = await confirmTransaction(registry.voteQuorum(newQuorum));
      const changed = receiptEvents(receipt, registry, "QuorumChanged").length > 0;
      const vote = receiptEvents(receipt, registry, "QuorumVote")[0];
      const approvals = vote ? Number(vote.args.approvals) : undefined;
      const current = Number(await registry.quorum());
      if (opts.json)
        return printJson({ newQuorum, changed, quorum: current, approvals, transaction: receipt.hash });
      if (changed) printLines(`the quorum is now ${current}`);
      else printLines(`approval recorded (${approvals} of ${current}); the quorum stays ${current}`);
    });
  });

  const list = role
    .command("list")
    .description("list the current admins, aggregators and auditors (from role events, checked with hasRole)")
    .option("--json", "print as JSON")
    .addHelpText("after", "\nExample:\n  fedledger role list --json");
  addChainOptions(list).action(async (opts: ChainFlags & { json?: boolean }) => {
    await withSession(opts, async ({ registry, deployment }) => {
      const holders = await roleHolders(registry, deployment.deployBlock);
      const currentQuorum = Number(await registry.quorum());
      if (opts.json) return printJson({ ...holders, quorum: currentQuorum });
      printFields([
        ...VOTED_ROLES.map((name): [string, string] => [name, holders[name].join(", ") || "(nobody)"]),
        ["quorum", `${currentQuorum} of ${holders.admin.length} admins`],
      ]);
    });
  });
}
