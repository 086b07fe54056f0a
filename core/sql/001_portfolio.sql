-- 001_portfolio.sql: the portfolio of one or more municipalities.
-- Every portfolio row belongs to an organisation, and every report reads one
-- organisation: the unique (org_id, kitos_uuid) keys give each table that
-- prefix, so secondary indexes are only where a report looks up across it
-- (an owner's systems) or a foreign key needs one. Fewer indexes keep the
-- import of all 98 municipalities fast. Dates that are dates stay
-- DATE; timestamps are UTC. src_hash is a 64-bit hash of the imported fields,
-- so that a re-import can tell unchanged rows without comparing every column.

CREATE TABLE organisations (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kitos_uuid  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  cvr         VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL,
  name        VARCHAR(255) NOT NULL,
  created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uq_org_uuid (kitos_uuid),
  KEY ix_org_cvr (cvr)
) ENGINE=InnoDB;

-- The common organisation plan: a tree of at least four levels.
CREATE TABLE org_units (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id      INT UNSIGNED NOT NULL,
  kitos_uuid  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name        VARCHAR(255) NOT NULL,
  parent_id   INT UNSIGNED NULL,
  UNIQUE KEY uq_unit (org_id, kitos_uuid),
  KEY ix_unit_parent (parent_id),
  CONSTRAINT fk_unit_org FOREIGN KEY (org_id) REFERENCES organisations (id),
  CONSTRAINT fk_unit_parent FOREIGN KEY (parent_id) REFERENCES org_units (id)
) ENGINE=InnoDB;

CREATE TABLE people (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id      INT UNSIGNED NOT NULL,
  kitos_uuid  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name        VARCHAR(255) NOT NULL,
  email       VARCHAR(320) NULL,
  org_unit_id INT UNSIGNED NULL,
  src_hash    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_person (org_id, kitos_uuid),
  KEY ix_person_unit (org_unit_id),
  CONSTRAINT fk_person_org FOREIGN KEY (org_id) REFERENCES organisations (id),
  CONSTRAINT fk_person_unit FOREIGN KEY (org_unit_id) REFERENCES org_units (id)
) ENGINE=InnoDB;

CREATE TABLE systems (
  id                  INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id              INT UNSIGNED NOT NULL,
  kitos_uuid          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,            -- the it-system-usage uuid
  name                VARCHAR(255) NOT NULL,
  local_name          VARCHAR(255) NULL,
  category            ENUM('foundation','cross_cutting','line_of_business') NULL,
  owner_id            INT UNSIGNED NULL,            -- resolved systemejer
  owner_kitos_uuid    CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,                -- as KITOS names the owner
  owner_name          VARCHAR(255) NULL,
  department_id       INT UNSIGNED NULL,            -- forvaltning
  supplier            VARCHAR(255) NULL,
  users_min           INT UNSIGNED NULL,
  users_max           INT UNSIGNED NULL,
  operations_model    ENUM('supplier_hosted','internal','hybrid') NULL,
  kitos_lifecycle     ENUM('undecided','not_in_use','phasing_in','operational','phasing_out','pilot') NULL,
  lifecycle_phase     ENUM('needs','procurement','contract_followup','exit') NULL,
  last_data_review    DATE NULL,
  citizen_facing      ENUM('self_service','data_display','information','digital_meeting','digital_communication') NULL,
  personal_data       ENUM('none','ordinary','sensitive') NULL,
  legal_data          TINYINT(1) NULL,              -- criminal-law data (KITOS LegalData)
  uses_ai             TINYINT(1) NULL,
  algorithmic_support TINYINT(1) NULL,
  uses_rpa            TINYINT(1) NULL,
  data_matching       TINYINT(1) NULL,
  business_critical   TINYINT(1) NULL,
  -- the KITOS GDPR snapshot of the usage
  ra_conducted        ENUM('yes','no','dont_know','undecided','irrelevant') NULL,
  ra_date             DATE NULL,
  ra_result           ENUM('low','medium','high','undecided') NULL,
  ra_planned          DATE NULL,
  dpia_conducted      ENUM('yes','no','dont_know','undecided') NULL,
  dpia_date           DATE NULL,
  dpa_required        ENUM('yes','no','decided_by_law') NULL,
  src_hash            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at          TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_system (org_id, kitos_uuid),   -- every report reads one organisation: this prefix
  KEY ix_system_owner (owner_id),                -- an owner's digest; the foreign key's index
  KEY ix_system_dept (department_id),
  CONSTRAINT fk_system_org FOREIGN KEY (org_id) REFERENCES organisations (id),
  CONSTRAINT fk_system_owner FOREIGN KEY (owner_id) REFERENCES people (id) ON DELETE SET NULL,
  CONSTRAINT fk_system_dept FOREIGN KEY (department_id) REFERENCES org_units (id)
) ENGINE=InnoDB;

CREATE TABLE contracts (
  id                   INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id               INT UNSIGNED NOT NULL,
  kitos_uuid           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name                 VARCHAR(255) NOT NULL,
  contract_number      VARCHAR(100) NULL,
  supplier             VARCHAR(255) NULL,
  supplier_cvr         VARCHAR(16) NULL,
  responsible_unit_id  INT UNSIGNED NULL,
  start_date           DATE NULL,
  end_date             DATE NULL,
  continuous           TINYINT(1) NOT NULL DEFAULT 0,   -- runs until terminated
  enforced_valid       TINYINT(1) NOT NULL DEFAULT 0,
  notice_months        SMALLINT UNSIGNED NULL,
  notice_by_end_of     ENUM('month','quarter','year') NULL,
  extension_options    VARCHAR(100) NULL,               -- as written: "2 x 1 år"
  extension_total      SMALLINT UNSIGNED NULL,          -- parsed: 2
  extensions_used      SMALLINT UNSIGNED NULL,
  irrevocable_until    DATE NULL,
  auto_renewal         TINYINT(1) NULL,
  annual_cost          DECIMAL(14,2) NULL,              -- DKK
  segment              ENUM('A','B','C') NULL,
  exit_decision        ENUM('undecided','extend','terminate','retender') NOT NULL DEFAULT 'undecided',
  terminated_at        DATE NULL,                       -- the day notice was given
  src_hash             BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at           TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_contract (org_id, kitos_uuid),  -- reports scan one organisation's ≈300 contracts
  KEY ix_contract_unit (responsible_unit_id),
  CONSTRAINT fk_contract_org FOREIGN KEY (org_id) REFERENCES organisations (id),
  CONSTRAINT fk_contract_unit FOREIGN KEY (responsible_unit_id) REFERENCES org_units (id)
) ENGINE=InnoDB;

CREATE TABLE contract_systems (
  contract_id  INT UNSIGNED NOT NULL,
  system_id    INT UNSIGNED NOT NULL,
  PRIMARY KEY (contract_id, system_id),
  KEY ix_cs_system (system_id),
  CONSTRAINT fk_cs_contract FOREIGN KEY (contract_id) REFERENCES contracts (id) ON DELETE CASCADE,
  CONSTRAINT fk_cs_system FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- Data processing registrations (databehandleraftaler) from KITOS.
CREATE TABLE data_processing (
  id                  INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id              INT UNSIGNED NOT NULL,
  kitos_uuid          CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name                VARCHAR(255) NOT NULL,
  agreement_concluded ENUM('yes','no','irrelevant','undecided') NULL,
  concluded_on        DATE NULL,
  valid               TINYINT(1) NULL,
  third_country       ENUM('yes','no','dont_know','undecided') NULL,
  processors          VARCHAR(1000) NULL,             -- names, "; " separated
  oversight_next      DATE NULL,
  src_hash            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at          TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_dpr (org_id, kitos_uuid),
  CONSTRAINT fk_dpr_org FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE=InnoDB;

CREATE TABLE data_processing_systems (
  dpr_id     INT UNSIGNED NOT NULL,
  system_id  INT UNSIGNED NOT NULL,
  PRIMARY KEY (dpr_id, system_id),
  KEY ix_dps_system (system_id),
  CONSTRAINT fk_dps_dpr FOREIGN KEY (dpr_id) REFERENCES data_processing (id) ON DELETE CASCADE,
  CONSTRAINT fk_dps_system FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE data_processing_contracts (
  dpr_id       INT UNSIGNED NOT NULL,
  contract_id  INT UNSIGNED NOT NULL,
  PRIMARY KEY (dpr_id, contract_id),
  KEY ix_dpc_contract (contract_id),
  CONSTRAINT fk_dpc_dpr FOREIGN KEY (dpr_id) REFERENCES data_processing (id) ON DELETE CASCADE,
  CONSTRAINT fk_dpc_contract FOREIGN KEY (contract_id) REFERENCES contracts (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- GDPR work recorded outside KITOS (CSV): risk assessments at acquisition,
-- the annual re-assessment and after incidents; DPIAs; data-ethics assessments.
CREATE TABLE gdpr_assessments (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  system_id   INT UNSIGNED NOT NULL,
  kind        ENUM('risk_assessment','dpia','data_ethics') NOT NULL,
  done_on     DATE NOT NULL,
  result      ENUM('low','medium','high','undecided') NULL,
  reason      ENUM('acquisition','annual','incident','change','other') NULL,
  next_due    DATE NULL,
  note        VARCHAR(1000) NULL,
  UNIQUE KEY uq_assessment (system_id, kind, done_on),
  KEY ix_assessment_kind (kind, done_on),
  CONSTRAINT fk_assessment_system FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE incidents (
  id           INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  system_id    INT UNSIGNED NOT NULL,
  occurred_on  DATE NOT NULL,
  severity     ENUM('low','medium','high','critical') NULL,
  title        VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_incident (system_id, occurred_on, title),
  KEY ix_incident_date (occurred_on),
  CONSTRAINT fk_incident_system FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- Fremtidsbillede: versioned lists of needs.
CREATE TABLE future_pictures (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id      INT UNSIGNED NOT NULL,
  version     VARCHAR(32) NOT NULL,
  adopted_on  DATE NOT NULL,
  UNIQUE KEY uq_future (org_id, version),
  CONSTRAINT fk_future_org FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE=InnoDB;

CREATE TABLE future_needs (
  id                 INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  future_picture_id  INT UNSIGNED NOT NULL,
  code               VARCHAR(32) NOT NULL,
  title              VARCHAR(500) NOT NULL,
  UNIQUE KEY uq_need (future_picture_id, code),
  CONSTRAINT fk_need_future FOREIGN KEY (future_picture_id) REFERENCES future_pictures (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- Målbillede: versioned, derived from a fremtidsbillede version; a list of
-- actions (handlemuligheder), each with the systems it concerns.
CREATE TABLE target_pictures (
  id                 INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id             INT UNSIGNED NOT NULL,
  version            VARCHAR(32) NOT NULL,
  adopted_on         DATE NOT NULL,
  future_picture_id  INT UNSIGNED NOT NULL,
  UNIQUE KEY uq_target (org_id, version),
  CONSTRAINT fk_target_org FOREIGN KEY (org_id) REFERENCES organisations (id),
  CONSTRAINT fk_target_future FOREIGN KEY (future_picture_id) REFERENCES future_pictures (id)
) ENGINE=InnoDB;

CREATE TABLE target_actions (
  id                 INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  target_picture_id  INT UNSIGNED NOT NULL,
  code               VARCHAR(32) NOT NULL,
  title              VARCHAR(500) NOT NULL,
  change_kind        ENUM('keep','replace','phase_out','consolidate','new','align') NULL,
  UNIQUE KEY uq_action (target_picture_id, code),
  CONSTRAINT fk_action_target FOREIGN KEY (target_picture_id) REFERENCES target_pictures (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE target_action_systems (
  action_id  INT UNSIGNED NOT NULL,
  system_id  INT UNSIGNED NOT NULL,
  PRIMARY KEY (action_id, system_id),
  KEY ix_tas_system (system_id),
  CONSTRAINT fk_tas_action FOREIGN KEY (action_id) REFERENCES target_actions (id) ON DELETE CASCADE,
  CONSTRAINT fk_tas_system FOREIGN KEY (system_id) REFERENCES systems (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- Fælleskommunale løsninger and their maturity history (green/yellow/red).
CREATE TABLE shared_solutions (
  id      INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id  INT UNSIGNED NOT NULL,
  name    VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_solution (org_id, name),
  CONSTRAINT fk_solution_org FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE=InnoDB;

CREATE TABLE shared_solution_maturity (
  solution_id  INT UNSIGNED NOT NULL,
  changed_on   DATE NOT NULL,
  maturity     ENUM('green','yellow','red') NOT NULL,
  PRIMARY KEY (solution_id, changed_on),
  CONSTRAINT fk_maturity_solution FOREIGN KEY (solution_id) REFERENCES shared_solutions (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- One row per import command, with its summary.
CREATE TABLE imports (
  id           INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind         ENUM('kitos','csv') NOT NULL,
  files        TEXT NOT NULL,
  started_at   TIMESTAMP(3) NOT NULL,
  finished_at  TIMESTAMP(3) NOT NULL,
  summary      LONGTEXT NOT NULL
) ENGINE=InnoDB;
