// BackupConfig for Python: the given settings (by their environment names, as text) go to
// config::load as flags over the process environment and COFFER_CONFIG-less defaults, exactly as
// the CLI's flags do, so unset fields take the environment's values and the CLI's defaults, and
// every value is checked the same way (ConfigError names a bad one).
#include <pybind11/stl.h>

#include "bindings.h"
#include "coffer/backup_config.h"
#include "coffer/config_loader.h"

namespace backup_py {

namespace {

using coffer::BackupConfig;

const char* s3_mode_name(coffer::S3Mode m) {
  switch (m) {
    case coffer::S3Mode::kOff: return "off";
    case coffer::S3Mode::kCopy: return "copy";
    case coffer::S3Mode::kRepository: return "repository";
  }
  return "off";
}

// Every field of BackupConfig by its Python keyword (backup/config.py maps each to its setting);
// paths as text ("" when unset).
py::dict values_of(const BackupConfig& c) {
  py::dict d;
  d["backup_dir"] = c.backup_dir.string();
  py::list paths;
  for (const auto& p : c.backup_paths) paths.append(p.string());
  d["backup_paths"] = paths;
  d["retention_days"] = c.retention_days;
  d["keep_last"] = c.keep_last;
  d["keep_daily"] = c.keep_daily;
  d["keep_weekly"] = c.keep_weekly;
  d["keep_monthly"] = c.keep_monthly;
  d["keep_yearly"] = c.keep_yearly;
  d["lock_wait_seconds"] = c.lock_wait_seconds;
  d["compression"] = c.compression;
  d["compression_algorithm"] = c.compression_algorithm;
  d["compression_level"] = c.compression_level;
  d["db_compression_keep_up"] = c.db_compression_keep_up;
  d["encryption"] = c.encryption;
  d["passphrase"] = c.passphrase;
  d["passphrase_file"] = c.passphrase_file.string();
  d["db_host"] = c.db_host;
  d["db_port"] = c.db_port;
  d["db_name"] = c.db_name;
  d["db_user"] = c.db_user;
  d["db_password"] = c.db_password;
  d["db_backup_mode"] = c.db_backup_mode == coffer::DbBackupMode::kPhysical ? "physical" : "logical";
  d["db_data_dir"] = c.db_data_dir.string();
  d["archive_timeout_seconds"] = c.archive_timeout_seconds;
  d["wal_key_cache"] = c.wal_key_cache;
  d["s3_bucket"] = c.s3_bucket;
  d["s3_region"] = c.s3_region;
  d["aws_access_key_id"] = c.aws_access_key_id;
  d["aws_secret_access_key"] = c.aws_secret_access_key;
  d["aws_session_token"] = c.aws_session_token;
  d["aws_profile"] = c.aws_profile;
  d["aws_shared_credentials_file"] = c.aws_shared_credentials_file.string();
  d["s3_mode"] = s3_mode_name(c.s3_mode);
  d["s3_endpoint"] = c.s3_endpoint;
  d["s3_prefix"] = c.s3_prefix;
  d["s3_path_style"] = c.s3_path_style;
  d["s3_storage_class"] = c.s3_storage_class;
  d["s3_sse"] = c.s3_sse;
  d["s3_sse_kms_key_id"] = c.s3_sse_kms_key_id;
  d["s3_ca_bundle"] = c.s3_ca_bundle.string();
  d["s3_verify_tls"] = c.s3_verify_tls;
  d["s3_retry_seconds"] = c.s3_retry_seconds;
  return d;
}

}  // namespace

void bind_config(py::module_& m) {
  py::class_<BackupConfig>(m, "Config", "coffer's effective configuration (use backup.BackupConfig).")
      .def("values", &values_of, "Every field by name, secrets included.");
  m.def(
      "load_config",
      [](const std::map<std::string, std::string>& settings, std::optional<std::string> config_file) {
        coffer::config::Sources sources;
        sources.environment = coffer::config::process_environment();
        if (config_file) sources.config_file = *config_file;
        sources.flags = settings;
        return coffer::config::load(sources);
      },
      py::arg("settings"), py::arg("config_file") = py::none(),
      "Loads the configuration: `settings` (setting name -> text) over the environment over the "
      "config file over the defaults, as the coffer command does with its flags.");
}

}  // namespace backup_py
