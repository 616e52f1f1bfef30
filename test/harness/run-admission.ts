// The module's admission side, run by Pepr's own runtime as in an admission pod: Pepr's
// HTTPS server routes AdmissionReviews through its processors to our Mutate and Validate
// handlers. Env: ADMISSION_PORT, SSL_CERT_PATH, SSL_KEY_PATH, PEPR_API_PATH.
import { PeprModule } from "pepr";
import cfg from "../../package.json";
import { StageSets } from "../../capabilities";

process.env.PEPR_WATCH_MODE = "false";
new PeprModule(cfg, [StageSets], { deferStart: true }).start(Number(process.env.ADMISSION_PORT));
process.stdout.write("ready\n");
