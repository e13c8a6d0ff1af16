/** Function records: the deployment as JSON (exact round-trip), the rest as columns. */
import type { Database } from "better-sqlite3";
import type { FunctionDeployment, FunctionRecord } from "../../shared/function.js";
import { TfaasError } from "../../shared/errors.js";
import type { FunctionStore } from "../index.js";
import type { Lifecycle } from "../lifecycle.js";

interface FunctionRow {
  namespace: string;
  name: string;
  deployment: string;
  created_at: string;
  replicas: number;
  revision: number;
}

interface FunctionParams {
  namespace: string;
  name: string;
  deployment: string;
  createdAt: string;
  replicas: number;
  revision: number;
}

export class SqliteFunctionStore implements FunctionStore {
  readonly #lifecycle: Lifecycle;
  readonly #list;
  readonly #get;
  readonly #insert;
  readonly #update;
  readonly #delete;

  constructor(db: Database, lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    const columns = "namespace, name, deployment, created_at, replicas, revision";
    this.#list = db.prepare<[string], FunctionRow>(`SELECT ${columns} FROM functions WHERE namespace = ? ORDER BY name`);
    this.#get = db.prepare<[string, string], FunctionRow>(`SELECT ${columns} FROM functions WHERE namespace = ? AND name = ?`);
    this.#insert = db.prepare<FunctionParams>(
      `INSERT INTO functions (${columns}) VALUES (:namespace, :name, :deployment, :createdAt, :replicas, :revision)
       ON CONFLICT DO NOTHING`,
    );
    this.#update = db.prepare<FunctionParams>(
      `UPDATE functions SET deployment = :deployment, created_at = :createdAt, replicas = :replicas, revision = :revision
       WHERE namespace = :namespace AND name = :name`,
    );
    this.#delete = db.prepare<[string, string]>("DELETE FROM functions WHERE namespace = ? AND name = ?");
  }

  async list(namespace: string): Promise<FunctionRecord[]> {
    this.#lifecycle.assertOpen();
    return this.#list.all(namespace).map(toRecord);
  }

  async get(name: string, namespace: string): Promise<FunctionRecord | undefined> {
    this.#lifecycle.assertOpen();
    const row = this.#get.get(namespace, name);
    return row === undefined ? undefined : toRecord(row);
  }

  async create(record: FunctionRecord): Promise<void> {
    this.#lifecycle.assertOpen();
    if (this.#insert.run(toParams(record)).changes === 0) {
      throw new TfaasError(
        "conflict",
        `Cannot create function ${JSON.stringify(record.name)} in namespace ${JSON.stringify(record.namespace)}: it already exists`,
      );
    }
  }

  async update(record: FunctionRecord): Promise<void> {
    this.#lifecycle.assertOpen();
    if (this.#update.run(toParams(record)).changes === 0) {
      throw new TfaasError(
        "function-not-found",
        `Cannot update function ${JSON.stringify(record.name)}: it does not exist in namespace ${JSON.stringify(record.namespace)}`,
      );
    }
  }

  async remove(name: string, namespace: string): Promise<boolean> {
    this.#lifecycle.assertOpen();
    return this.#delete.run(namespace, name).changes > 0;
  }
}

function toParams(record: FunctionRecord): FunctionParams {
  return {
    namespace: record.namespace,
    name: record.name,
    deployment: JSON.stringify(record.deployment),
    createdAt: record.createdAt,
    replicas: record.replicas,
    revision: record.revision,
  };
}

function toRecord(row: FunctionRow): FunctionRecord {
  return {
    name: row.name,
    namespace: row.namespace,
    // Written by this store from a validated deployment; trusted as is.
    deployment: JSON.parse(row.deployment) as FunctionDeployment,
    createdAt: row.created_at,
    replicas: row.replicas,
    revision: row.revision,
  };
}
