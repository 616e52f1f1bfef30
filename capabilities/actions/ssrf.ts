// The SSRF guard as http actions see it: the destination guard of capabilities/net, whose
// refusals become ActionRefusedError (the ActionRefused reason, terminal).
import { DestinationRefusedError, vetAddress, type Destination, type VetOptions } from "../net";
import { ActionRefusedError } from "./errors";

export { allowlistProblems, bareHost, classifyAddress, isAllowed, pinnedLookup, systemLookup, type AddressClass, type Destination, type Lookup, type VetOptions } from "../net";

export async function vetDestination(url: URL, opts: VetOptions): Promise<Destination> {
  try {
    return await vetAddress(url, opts);
  } catch (err) {
    if (err instanceof DestinationRefusedError) throw new ActionRefusedError(err.message);
    throw err;
  }
}
