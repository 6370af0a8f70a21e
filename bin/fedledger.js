#!/usr/bin/env node
// Entry point of the `fedledger` command. The sources are TypeScript; tsx loads them without a build step.
"use strict";
require("tsx/cjs");
require("../node/cli/main.ts").main(process.argv);
