// Where the controller may connect on a tenant's behalf: IP ranges and the destination guard
// shared by http actions and artifact downloads.
export * from "./ip";
export * from "./destination";
