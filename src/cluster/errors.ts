// Kept apart from stream.ts so the command line can recognise it without loading the NATS client.

/** A cluster set up wrongly (unreachable NATS, no JetStream, another P or R): one line for the user, exit 1. */
export class ClusterError extends Error {}
