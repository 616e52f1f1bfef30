// Apply, inventory and prune: the pure plan (order, ApplySet identity, what to prune) and
// the shell that applies a stage, keeps its ApplySet parent, and prunes it.
export * from "./objects";
export * from "./order";
export * from "./applyset";
export * from "./inventory";
export * from "./ssa";
export * from "./parent";
export * from "./prune";
export * from "./scope";
export * from "./ownership";
export * from "./access";
