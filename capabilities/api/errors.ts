// Typed errors: each carries a stable reason and a message that names the file, object or
// field involved. `terminal` errors wait for the input to change instead of retrying.
import { Reason } from "./reasons";

export class StageSetError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    readonly terminal = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A manifest file (or one document in it) that cannot become an object. */
export class ManifestError extends StageSetError {
  constructor(
    readonly file: string,
    detail: string,
    readonly documentIndex?: number,
  ) {
    super(Reason.ManifestInvalid, `${file}${documentIndex === undefined ? "" : ` (document ${documentIndex + 1})`}: ${detail}`);
  }
}

/** An archive entry or stream that extraction refuses. */
export class ArtifactError extends StageSetError {
  constructor(
    reason: typeof Reason.ArtifactFetchFailed | typeof Reason.ArtifactVerificationFailed | typeof Reason.ArtifactExtractionFailed,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(reason, message, false, options);
  }
}
