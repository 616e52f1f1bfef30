// Apply, inventory and prune: the pure plan (order, ApplySet identity, what to prune).
export * from "./objects";
export * from "./order";
export * from "./applyset";
export * from "./inventory";
