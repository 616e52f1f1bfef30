// `stageset ui` as a user starts it: the CLI's own file, their kubeconfig, the address it prints.
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { killChild, readyLine } from "./controller-process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface UiProcess {
  url: string;
  /** What it has said on stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** `stageset ui` as a user starts it: the CLI's own file, their kubeconfig. */
export async function startUiProcess(args: string[], kubeconfig: string): Promise<UiProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(root, "bin/stageset.mjs"), "ui", ...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  try {
    const printed = (await readyLine(child, /open (http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/)\n/, "stageset ui"))[1]!;
    return { url: printed, stderr: () => stderr, stop: () => killChild(child, "SIGTERM") };
  } catch (err) {
    await killChild(child);
    throw err;
  }
}

/** fetch cannot set Host: a plain request can, as a rebinding browser's would arrive. */
export function answerWithHost(target: string, host: string): Promise<[number, string]> {
  return new Promise((ok, fail) =>
    request(target, { headers: { host } }, res => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => ok([res.statusCode!, body]));
    })
      .on("error", fail)
      .end(),
  );
}

