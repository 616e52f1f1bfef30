// Admission for StageSets: a Mutate handler that fills defaults the schema cannot, and a
// Validate handler that rejects a spec the controller could not act on, naming each field.
export { validateStageSet, describeProblems, type SpecProblem } from "./validate";
export { withActionDefaults, actionDefaults } from "./defaults";
export { admitApproval, approvalRefusal, dependencyCycle, gateRemovalRefusal, mayApprove, type UserInfo } from "./promotion";
