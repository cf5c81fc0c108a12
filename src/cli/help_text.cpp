// The text after `coffer --help`'s option list: examples and the environment variables.
#include "cli.h"

namespace coffer::cli {

std::string help_footer() {
  return R"(Examples:
  export BACKUP_DIR=/srv/backups BACKUP_PATHS=/srv/app/uploads:/srv/app/static
  export BACKUP_PASSPHRASE_FILE=/etc/coffer/passphrase DB_NAME=school DB_USER=postgres
  coffer create --type full                 # database and files (--only files|database)
  coffer create --type incremental
  coffer list
  coffer restore latest --type files --target /tmp/restore --include uploads/2024
  coffer restore latest --type files --existing skip     # in place: only what is missing
  coffer restore <backup_id> --type database --target-db school_check
  coffer restore latest --type database --pgdata /srv/pg/restored --to-time '2026-12-05 10:42:17+01'
  coffer verify --read-data
  coffer export latest --type database --format sql.gz --output school.sql.gz
  coffer drill latest                       # restore into scratch, check, remove (DRILL_SQL: probes)
  coffer cleanup --dry-run
  coffer status
  coffer report --html backups.html         # the dashboard page (also live: GET / with METRICS_PORT)
  coffer <command> --help                   # the options of one command

Environment variables (flags beat them; they beat the --config file):
  BACKUP_DIR                  repository folder, holds backup_log.json (default ./backups)
  BACKUP_PATHS                folders or files to back up, colon-separated
  BACKUP_PASSPHRASE_FILE      file holding the passphrase (or BACKUP_PASSPHRASE)
  ENCRYPTION, COMPRESSION, COMPRESSION_ALGORITHM, COMPRESSION_LEVEL, DB_COMPRESSION_KEEP_UP
  RETENTION_DAYS, KEEP_LAST, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY
  LOCK_WAIT_SECONDS           how long to wait for a conflicting lock (default 0)
  DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD   PostgreSQL (libpq's PG* variables work too)
  DB_BACKUP_MODE, DB_DATA_DIR, ARCHIVE_TIMEOUT, WAL_KEY_CACHE   physical backups and WAL (docs/pitr.md)
  DRILL_SQL                   queries that must return true in a drill's scratch database
  S3_BUCKET, S3_MODE, S3_REGION, S3_ENDPOINT, S3_PREFIX, S3_PATH_STYLE, S3_STORAGE_CLASS,
  S3_SSE, S3_SSE_KMS_KEY_ID, S3_VERIFY_TLS, S3_CA_BUNDLE, S3_RETRY_SECONDS
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE
  BACKUP_SCHEDULE_FULL, _INCREMENTAL, _DIFFERENTIAL, _CLEANUP, _VERIFY, _DRILL, TZ   (coffer schedule)
  STATUS_MAX_AGE_HOURS, STATUS_MIN_DAYS_LEFT, S3_QUOTA, METRICS_FILE, METRICS_PORT, METRICS_ADDRESS,
  DASHBOARD_TOKEN
  NOTIFY_COMMAND, NOTIFY_ON, NOTIFY_TIMEOUT_SECONDS
  TMPDIR                      where a database restore stages what it must, and a drill restores files
README.md's "Settings" describes each one.

Exit codes: 0 ok, 1 finished with problems, 2 bad configuration, 3 bad input or refused,
4 not found, 5 damaged data, 6 storage failure, 7 database failure, 8 wrong passphrase,
9 backup committed but incomplete (files could not be read), 70 internal error.
)";
}

}  // namespace coffer::cli
