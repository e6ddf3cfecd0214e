#!/bin/bash
# Run once by the ClickHouse image on a new data directory (/docker-entrypoint-initdb.d): the
# read-only user Grafana connects as. readonly = 2: reads only, and settings Grafana's client
# sets (its query timeout, bounded by MAX); the result bound is CONST, no query can lift it.
set -euo pipefail
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery --query "
  CREATE DATABASE IF NOT EXISTS vox;
  CREATE USER IF NOT EXISTS vox_reader IDENTIFIED WITH sha256_password BY '${CLICKHOUSE_READER_PASSWORD}'
    SETTINGS readonly = 2, max_execution_time = 30 MAX 60, max_result_rows = 100000 CONST;
  GRANT SELECT ON vox.* TO vox_reader;"
