// Where and as whom to connect: what every PostgreSQL session of the suite starts from, and what
// addon-sync hands an app (DATABASE_URL and PG* variables, addons/env.ts).
export interface ConnInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** false for the playground / port-forwards; 'require' style objects for real TLS. */
  ssl?: boolean | { rejectUnauthorized: boolean };
  /** Why the transport (a port-forward) broke, when it did: added to query errors. */
  transportFailure?: () => string | undefined;
}

/** A query error that says why the connection broke, when the transport knows. */
export function withTransportReason(conn: ConnInfo, err: unknown): unknown {
  const why = conn.transportFailure?.();
  if (!why || !(err instanceof Error) || err.message.includes(why)) return err;
  return new Error(`${err.message} (${why})`, { cause: err });
}
