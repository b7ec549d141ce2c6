-- llmcap results database.
--
-- One file holds many runs. The schema version is PRAGMA user_version (this file is
-- version 3; reports/db.c migrates a version-1 file to 2 and a version-2 file to 3 when it
-- opens it for writing, and adds the class columns to a version-2 file written before them) and the file is marked as llmcap's with PRAGMA application_id = 0x4C4C4D43
-- ('LLMC'); llmcap refuses to write into a SQLite file that is not marked so (unless it
-- is empty), and into one written by a newer schema.
--
-- Conventions: times are seconds (REAL) of simulated time from the run's start; every
-- column with a unit names it (_s, _usd, _usd_per_hour, _frac, _tokens); counts are n_* or
-- plain counts; NULL means "did not happen" (no first token) or "not defined" (TPOT of a
-- one-token request). A run is written in one transaction: a failed or interrupted run
-- leaves no rows, and earlier runs stay intact.

PRAGMA application_id = 1280068931;
PRAGMA user_version = 3;

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per run.
CREATE TABLE IF NOT EXISTS runs (
    run_id             INTEGER PRIMARY KEY,
    status             TEXT NOT NULL CHECK (status IN ('complete')),
    created_utc        TEXT NOT NULL,   -- wall-clock time the run was written (ISO 8601)
    scenario_name      TEXT NOT NULL,
    scenario_path      TEXT NOT NULL,
    scenario_sha256    TEXT NOT NULL,   -- of the scenario file's bytes
    overrides          TEXT NOT NULL,   -- the --set assignments, ';'-separated
    labels_json        TEXT NOT NULL,   -- sweep parameters of this point, '{}' otherwise
    seed               INTEGER NOT NULL,
    llmcap_version     TEXT NOT NULL,
    git_describe       TEXT NOT NULL,
    gsl_version        TEXT NOT NULL,
    sqlite_version     TEXT NOT NULL,
    latency_model      TEXT NOT NULL,   -- constant | linear | roofline | table
    latency_provenance TEXT NOT NULL,   -- measured (where, on what) | modelled | published
    trace_path         TEXT,            -- NULL for synthetic workloads
    wall_s             REAL NOT NULL,   -- wall time of the simulation
    sim_end_s          REAL NOT NULL,
    n_events           INTEGER NOT NULL,
    n_requests         INTEGER NOT NULL,
    -- The run's identity: SHA-256 (hex) of scenario_sha256, overrides, labels_json, seed,
    -- llmcap_version and git_describe (reports/db.h db_run_key). A run is a pure function
    -- of these: `llmcap run -o` appends every run it is asked for, while `llmcap merge`
    -- and `llmcap sweep` skip a run whose key is already there (merging twice adds
    -- nothing).
    run_key            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (run_key);

-- One row per request (all, a deterministic sample, or none: scenario record.requests).
CREATE TABLE IF NOT EXISTS requests (
    run_id           INTEGER NOT NULL REFERENCES runs(run_id),
    request_id       INTEGER NOT NULL,  -- arrival order from 0
    arrival_s        REAL NOT NULL,
    prompt_tokens    INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,  -- requested
    generated_tokens INTEGER NOT NULL,  -- produced before the request ended
    replica          INTEGER,           -- last replica that served it; NULL if none
    first_token_s    REAL,
    finish_s         REAL NOT NULL,     -- when it ended, whatever the outcome
    ttft_s           REAL,              -- first_token_s - arrival_s
    tpot_s           REAL,              -- (finish_s - first_token_s) / (output_tokens - 1), ok only
    e2e_s            REAL NOT NULL,     -- finish_s - arrival_s
    preemptions      INTEGER NOT NULL,
    retries          INTEGER NOT NULL,
    -- 'failed' only in runs written before version 2 (now aborted, 5xx, client_timeout);
    -- 'shed': refused by the gateway's load shedding.
    outcome          TEXT NOT NULL CHECK (outcome IN
                         ('ok', 'timeout', 'rejected', 'aborted', '5xx', 'client_timeout',
                          'shed', 'unfinished', 'failed')),
    class            TEXT,              -- workload.classes name; NULL without classes
    -- deployments[].name of the deployment that served it (a run with `deployments:`;
    -- the key of `deployments` and `deployment_summary`); NULL in a single-deployment
    -- run and in rows written before version 3
    deployment       TEXT,
    PRIMARY KEY (run_id, request_id)
) WITHOUT ROWID;

-- Metric samples as Prometheus would have scraped them: per replica at the scrape
-- interval (vllm:num_requests_running, vllm:num_requests_waiting,
-- vllm:kv_cache_usage_perc as a fraction 0..1). In a run of several deployments a
-- replica's and a deployment's series name their deployment; cluster-wide series (nodes,
-- cost) have deployment NULL.
CREATE TABLE IF NOT EXISTS samples (
    run_id  INTEGER NOT NULL REFERENCES runs(run_id),
    t_s     REAL NOT NULL,
    metric  TEXT NOT NULL,
    replica INTEGER,          -- NULL for fleet-wide series
    labels  TEXT NOT NULL,    -- extra labels as JSON, '{}' when none
    value   REAL NOT NULL,
    deployment TEXT           -- as requests.deployment; NULL: single deployment, cluster-wide
);
CREATE INDEX IF NOT EXISTS samples_by_metric ON samples (run_id, metric, t_s);

-- Headline numbers of a run as key/value pairs; keys carry units
-- (ttft_p95_s, throughput_req_per_s, error_rate_frac, ...). docs/sqlite.md lists them.
CREATE TABLE IF NOT EXISTS summary (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    key    TEXT NOT NULL,
    value  REAL,              -- NULL when undefined (no request to measure)
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- Notes on a run as text (reports/db.c RUN_NOTES_SQL holds the same statement, for
-- files written before the table existed): 'ignored_fields', the fields of pasted
-- objects (kubectl get -o yaml, az ... show) accepted and ignored because they cannot
-- change the run, '; '-separated dotted paths with sequence indices as '*'.
CREATE TABLE IF NOT EXISTS run_notes (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- A scenario with `deployments:` (docs/scenario.md): each deployment of the run, its
-- summary (the keys of `summary`, its own requests; cost_* its share of the cluster's
-- bill by GPU-time) and its SLO verdicts. The run's own summary is the cluster's. Created
-- when such a run is written (reports/db.c DEPLOYMENTS_SQL, the same statements).
CREATE TABLE IF NOT EXISTS deployments (
    run_id               INTEGER NOT NULL REFERENCES runs(run_id),
    deployment           TEXT NOT NULL,    -- deployments[].name
    position             INTEGER NOT NULL, -- index in the scenario's list
    model_name           TEXT NOT NULL,    -- the model_name label of its series
    gpu                  TEXT,             -- engine.gpu, NULL when not given
    tensor_parallel_size INTEGER NOT NULL,
    slo_pass             INTEGER NOT NULL CHECK (slo_pass IN (0, 1)),
    PRIMARY KEY (run_id, deployment)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deployment_summary (
    run_id     INTEGER NOT NULL REFERENCES runs(run_id),
    deployment TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      REAL,
    PRIMARY KEY (run_id, deployment, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deployment_slo_results (
    run_id     INTEGER NOT NULL REFERENCES runs(run_id),
    deployment TEXT NOT NULL,
    slo        TEXT NOT NULL,
    metric     TEXT NOT NULL,
    quantile   REAL,
    target     REAL NOT NULL,
    actual     REAL,
    unit       TEXT NOT NULL,
    pass       INTEGER NOT NULL CHECK (pass IN (0, 1)),
    PRIMARY KEY (run_id, deployment, slo)
) WITHOUT ROWID;

-- Each SLO of the scenario: target, what the run achieved, verdict.
CREATE TABLE IF NOT EXISTS slo_results (
    run_id   INTEGER NOT NULL REFERENCES runs(run_id),
    slo      TEXT NOT NULL,   -- as written in the scenario: ttft_p95, error_rate, ...
    metric   TEXT NOT NULL,   -- ttft | tpot | e2e | error_rate
    quantile REAL,            -- 0.95 for p95; NULL for error_rate
    target   REAL NOT NULL,
    actual   REAL,            -- NULL when nothing could be measured
    unit     TEXT NOT NULL,   -- s | frac
    pass     INTEGER NOT NULL CHECK (pass IN (0, 1)),
    class    TEXT,            -- a class's own SLO (slo is then 'CLASS.ttft_p95'); NULL: all
    PRIMARY KEY (run_id, slo)
) WITHOUT ROWID;

-- Every autoscaler evaluation (KEDA poll, HPA sync).
CREATE TABLE IF NOT EXISTS scaling_events (
    run_id           INTEGER NOT NULL REFERENCES runs(run_id),
    t_s              REAL NOT NULL,
    source           TEXT NOT NULL,   -- keda | hpa
    metric_values    TEXT NOT NULL,   -- JSON: trigger name -> value
    current_replicas INTEGER NOT NULL,
    raw_desired      INTEGER,         -- recommendation before windows and policies
    desired          INTEGER NOT NULL,-- after stabilisation windows and policies
    reason           TEXT NOT NULL,
    deployment       TEXT             -- whose autoscaler (as requests.deployment)
);

-- Every pod (replica) and its lifecycle.
CREATE TABLE IF NOT EXISTS pods (
    run_id            INTEGER NOT NULL REFERENCES runs(run_id),
    pod_id            INTEGER NOT NULL,
    node_id           INTEGER,
    created_s         REAL NOT NULL,
    scheduled_s       REAL,
    image_pulled_s    REAL,
    weights_loaded_s  REAL,
    ready_s           REAL,
    terminating_s     REAL,
    terminated_s      REAL,
    cold_start        INTEGER NOT NULL CHECK (cold_start IN (0, 1)), -- compile cache missed
    end_reason        TEXT,            -- scaled-in, ...; NULL while alive at the end
    deployment        TEXT,            -- whose pod (as requests.deployment)
    PRIMARY KEY (run_id, pod_id)
) WITHOUT ROWID;

-- Every node and its bill.
CREATE TABLE IF NOT EXISTS nodes (
    run_id              INTEGER NOT NULL REFERENCES runs(run_id),
    node_id             INTEGER NOT NULL,
    instance_type       TEXT NOT NULL,
    capacity_type       TEXT NOT NULL,   -- on-demand | spot
    zone                TEXT,
    price_usd_per_hour  REAL NOT NULL,
    requested_s         REAL NOT NULL,
    launched_s          REAL,
    registered_s        REAL,
    ready_s             REAL,
    terminated_s        REAL,
    end_reason          TEXT,
    cost_usd            REAL,
    PRIMARY KEY (run_id, node_id)
) WITHOUT ROWID;

-- `llmcap plan`: one row per configuration of a plan's search space, with what the
-- planner found (fixed fleets: the highest rate one replica sustained, the verified
-- fleet size; autoscaled fleets: the run with those autoscaler settings).
CREATE TABLE IF NOT EXISTS plan_results (
    plan_id                INTEGER NOT NULL,
    config_index           INTEGER NOT NULL,   -- enumeration order
    created_utc            TEXT NOT NULL,
    scenario_name          TEXT NOT NULL,
    scenario_sha256        TEXT NOT NULL,
    label                  TEXT NOT NULL,
    instance_type          TEXT,               -- NULL when priced per GPU type
    gpu                    TEXT NOT NULL,
    tensor_parallel_size   INTEGER NOT NULL,
    dtype                  TEXT NOT NULL,
    max_num_seqs           INTEGER,            -- NULL: vLLM's default for the GPU
    max_num_batched_tokens INTEGER,
    spot_share_frac        REAL NOT NULL,
    min_replicas           INTEGER,            -- autoscaled plans only
    threshold              REAL,
    scale_down_window_s    INTEGER,
    fits                   INTEGER NOT NULL CHECK (fits IN (0, 1)),
    feasible               INTEGER NOT NULL CHECK (feasible IN (0, 1)),
    reason                 TEXT NOT NULL,
    max_rate_scale         REAL,               -- per replica, x the workload's rate
    search_runs            INTEGER NOT NULL,
    replicas               INTEGER,            -- fixed: verified size; autoscaled: peak
    replica_hours          REAL,
    usd_per_hour           REAL,
    cost_usd               REAL,
    usd_per_mtok           REAL,               -- per 1M output tokens
    ttft_p95_s             REAL,
    tpot_p95_s             REAL,
    error_rate_frac        REAL,
    slo_margin_frac        REAL,
    pareto                 INTEGER NOT NULL CHECK (pareto IN (0, 1)),
    best                   INTEGER NOT NULL CHECK (best IN (0, 1)),
    PRIMARY KEY (plan_id, config_index)
) WITHOUT ROWID;
