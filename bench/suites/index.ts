/** Every benchmark suite, in the order `npm run bench` runs them. */
import type { Suite } from "../suite.js";
import { asyncSuite } from "./async.js";
import { invokeSuite } from "./invoke.js";
import { jsSuite } from "./js.js";
import { meteringSuite } from "./metering.js";
import { receiptsSuite } from "./receipts.js";

export const suites: Suite[] = [invokeSuite, meteringSuite, receiptsSuite, asyncSuite, jsSuite];
