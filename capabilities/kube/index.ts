// Talking to the API server: an HTTP client with our field manager, and discovery.
export * from "./access";
export * from "./client";
export * from "./discovery";
export * from "./informer";
