/** Every benchmark suite, in the order `npm run bench` runs them. */
import type { Suite } from "../suite.js";
import { invokeSuite } from "./invoke.js";

export const suites: Suite[] = [invokeSuite];
