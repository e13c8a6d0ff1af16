/** Every benchmark suite, in the order `npm run bench` runs them. */
import type { Suite } from "../suite.js";
import { asyncSuite } from "./async.js";
import { attestationSuite } from "./attestation.js";
import { confidentialSuite } from "./confidential.js";
import { distributedSuite } from "./distributed.js";
import { invokeSuite } from "./invoke.js";
import { jsSuite } from "./js.js";
import { meteringSuite } from "./metering.js";
import { ohttpSuite } from "./ohttp.js";
import { receiptsSuite } from "./receipts.js";

export const suites: Suite[] = [invokeSuite, meteringSuite, receiptsSuite, attestationSuite, asyncSuite, ohttpSuite, confidentialSuite, jsSuite, distributedSuite];
