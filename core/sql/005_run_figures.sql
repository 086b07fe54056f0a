-- 005_run_figures.sql: a run's figures (REPORT.json's "figures"), so the
-- next run of the same report and organisation can show the trend.

ALTER TABLE runs ADD COLUMN figures LONGTEXT NULL AFTER error;
