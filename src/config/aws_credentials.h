// Reads the AWS shared credentials file (~/.aws/credentials): an INI file of [profile]
// sections holding aws_access_key_id, aws_secret_access_key and aws_session_token.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace coffer::config {

// profile name -> (lower-case key -> value). Lines starting with '#' or ';' are comments;
// whitespace around names and values is trimmed; "[profile x]" is read as "x" (the AWS CLI
// config file's spelling). Throws Error(kConfig) naming the file when it cannot be read or a
// line is neither a section, a comment nor key = value (the line itself is not shown: it may
// hold a secret).
using AwsProfiles = std::map<std::string, std::map<std::string, std::string>>;
AwsProfiles parse_aws_credentials(const std::string& text, const std::string& file_name);
AwsProfiles read_aws_credentials_file(const std::filesystem::path& file);

}  // namespace coffer::config
