-- Zoo registry schema, version 1. The single source of truth: the Swift
-- code embeds this exact text (Sources/ZooRegistry/Schema.swift) and a test
-- keeps the two byte-identical. Later versions are new migrations, never edits.

CREATE TABLE architectures (
    name        TEXT PRIMARY KEY NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    summary     TEXT NOT NULL DEFAULT '',
    conditional INTEGER NOT NULL DEFAULT 0 CHECK (conditional IN (0, 1)),
    kind        TEXT NOT NULL DEFAULT 'gan' CHECK (kind IN ('gan', 'classifier'))
);

CREATE TABLE models (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    architecture    TEXT NOT NULL REFERENCES architectures(name) ON UPDATE CASCADE,
    dataset         TEXT NOT NULL,
    hyperparameters TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(hyperparameters)),
    -- Seeds are UInt64; stored as the same 64 bits reinterpreted as signed.
    seed            INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'training' CHECK (status IN ('training', 'ready', 'failed')),
    error           TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    description     TEXT,
    -- Lineage survives deleting the parent: the child just loses the link.
    parent_id       INTEGER REFERENCES models(id) ON DELETE SET NULL
);
CREATE INDEX models_architecture ON models(architecture);
CREATE INDEX models_dataset ON models(dataset);
CREATE INDEX models_parent ON models(parent_id);

CREATE TABLE checkpoints (
    id              INTEGER PRIMARY KEY,
    model_id        INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    epoch           INTEGER NOT NULL CHECK (epoch >= 0),
    step            INTEGER NOT NULL CHECK (step >= 0),
    created_at      REAL NOT NULL,
    is_final        INTEGER NOT NULL DEFAULT 0 CHECK (is_final IN (0, 1)),
    optimizer_state BLOB NOT NULL DEFAULT x'',
    rng_state       BLOB NOT NULL DEFAULT x'',
    UNIQUE (model_id, step)
);
CREATE INDEX checkpoints_model_epoch ON checkpoints(model_id, epoch);

CREATE TABLE tensors (
    id            INTEGER PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
    network       TEXT NOT NULL,
    path          TEXT NOT NULL,
    shape         TEXT NOT NULL CHECK (json_valid(shape)),
    -- Element count, kept so listings can sum parameters without parsing JSON.
    elements      INTEGER NOT NULL CHECK (elements >= 0),
    dtype         TEXT NOT NULL CHECK (dtype IN ('float32', 'float16')),
    codec         TEXT NOT NULL,
    raw_bytes     INTEGER NOT NULL CHECK (raw_bytes >= 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    blob          BLOB NOT NULL,
    UNIQUE (checkpoint_id, network, path)
);

CREATE TABLE metrics (
    id            INTEGER PRIMARY KEY,
    model_id      INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    sample_count  INTEGER,
    evaluator     TEXT,
    details       TEXT CHECK (details IS NULL OR json_valid(details)),
    created_at    REAL NOT NULL
);
CREATE INDEX metrics_model_name ON metrics(model_id, name, created_at);
CREATE INDEX metrics_checkpoint ON metrics(checkpoint_id);

CREATE TABLE training_log (
    id       INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    epoch    INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    d_loss   REAL NOT NULL,
    g_loss   REAL NOT NULL,
    seconds  REAL NOT NULL
);
CREATE INDEX training_log_model_step ON training_log(model_id, step);

CREATE TABLE aliases (
    model_id      INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    alias         TEXT NOT NULL,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
    UNIQUE (model_id, alias)
);
CREATE INDEX aliases_checkpoint ON aliases(checkpoint_id);

-- 'Zoo1' in ASCII: lets tools tell a Zoo registry from any other SQLite file.
PRAGMA application_id = 1517252401;
PRAGMA user_version = 1;

-- Version 2: the trainer's per-epoch progress frames (a fixed-noise sample grid as a
-- small grayscale PNG), for `zoo progress` and the model card. Models trained before
-- version 2 have none.
CREATE TABLE progress_frames (
    model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    epoch      INTEGER NOT NULL CHECK (epoch >= 1),
    step       INTEGER NOT NULL CHECK (step >= 0),
    png        BLOB NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (model_id, epoch)
);
PRAGMA user_version = 2;

-- Version 3: names that say what is stored. A checkpoint's JSON is where the training run
-- stands (epoch, step, Adam's step counts, the epoch's running sums), not optimizer state
-- (the moments are tensors of network "<name>#adam"); a log row's figures are named, as a
-- classifier logs its loss and accuracy where a GAN logs D's and G's loss.
ALTER TABLE checkpoints RENAME COLUMN optimizer_state TO training_position;
ALTER TABLE training_log ADD COLUMN metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics));
-- 17 significant digits: every double reads back exactly (json_object would keep 15).
UPDATE training_log SET metrics = (
    SELECT printf('{"%s":%s,"%s":%s}',
                  CASE a.kind WHEN 'classifier' THEN 'loss' ELSE 'd_loss' END,
                  CASE WHEN abs(training_log.d_loss) <= 1.7976931348623157e308 THEN printf('%!.17g', training_log.d_loss) ELSE 'null' END,
                  CASE a.kind WHEN 'classifier' THEN 'accuracy' ELSE 'g_loss' END,
                  CASE WHEN abs(training_log.g_loss) <= 1.7976931348623157e308 THEN printf('%!.17g', training_log.g_loss) ELSE 'null' END)
    FROM models m JOIN architectures a ON a.name = m.architecture WHERE m.id = training_log.model_id);
ALTER TABLE training_log DROP COLUMN d_loss;
ALTER TABLE training_log DROP COLUMN g_loss;
PRAGMA user_version = 3;
