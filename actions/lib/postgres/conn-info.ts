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
}
