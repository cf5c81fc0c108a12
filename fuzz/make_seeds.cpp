// Writes the seed corpora (fuzz/corpus/<target>/seed_*): valid inputs made by coffer's own
// writers (manifests, index files, packs, tree streams and ref lists through the real write
// paths, read back as the parsers see them), plus hand-written config files and cron lines.
// Usage: make_seeds <corpus dir>. bench/fuzz.sh builds and runs it when a corpus is missing.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "codec/compression.h"
#include "repo/tree_stream.h"
#include "fuzz_common.h"
#include "repo/chunk_store.h"
#include "repo/pack.h"
#include "util/binary.h"

namespace {

using namespace coffer;
namespace fs = std::filesystem;

fs::path g_root;

void write_seed(const std::string& target, const std::string& name, ByteView bytes) {
  fs::create_directories(g_root / target);
  std::ofstream out(g_root / target / ("seed_" + name), std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void append_le(Bytes& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// The plaintext of a sealed metadata object, as Repository's readers unseal and decompress it.
Bytes metadata_plaintext(const Repository& repo, std::string_view kind, ByteView stored) {
  return decode_payload(repo.sealer().open(kind, stored, "seed"), 1u << 30);
}

ChunkId id_of(int n) {
  ChunkId id{};
  id.fill(static_cast<uint8_t>(n));
  return id;
}

void manifest_seeds() {
  fuzz::MemoryRepo mem;
  Manifest files_only;
  files_only.info.backup_id = "full_20240101_020000";
  files_only.info.type = BackupType::kFull;
  files_only.info.timestamp = "2024-01-01T02:00:00.000000Z";
  files_only.info.hostname = "school-server";
  files_only.info.file_count = 3;
  files_only.info.size_bytes = 12345;
  files_only.info.duration_seconds = 1.25;
  files_only.roots = {{"uploads", "/srv/app/uploads"}, {"etc", "/etc/app"}};
  files_only.tree = {{id_of(1), 4000}, {id_of(2), 96}};
  files_only.metadata = {{"compression", "zstd"}, {"encryption", "none"}, {"tool_version", "0.1.0"}};

  Manifest with_db = files_only;
  with_db.info.type = BackupType::kIncremental;
  with_db.info.parent = "full_20231231_020000";
  with_db.info.warnings = {"could not read /srv/app/uploads/locked: permission denied"};
  DatabasePart db;
  db.info.name = "school";
  db.info.server_version = "15.18";
  db.info.server_version_num = 150018;
  db.info.pg_dump_version = "15.18";
  db.info.dump_bytes = 30;
  db.info.globals = true;
  db.info.tables = {{"public", "users", 7}, {"Other", "Mixed Case", 0}};
  db.dump_list = {{id_of(3), 72}};
  db.globals = {{id_of(4), 512}};
  with_db.database = db;

  Manifest db_only = with_db;
  db_only.info.type = BackupType::kDifferential;
  db_only.info.has_files = false;
  db_only.roots.clear();
  db_only.tree.clear();

  int n = 0;
  for (const Manifest* m : {&files_only, &with_db, &db_only}) {
    uint64_t stored = 0;
    mem.storage->remove(manifest_key(m->info.backup_id));
    if (!mem.repo->write_manifest(*m, &stored)) fuzz::bug("seed manifest not written");
    Bytes sealed = mem.storage->get(manifest_key(m->info.backup_id), 0, Storage::kWhole);
    write_seed("manifest", std::to_string(n++), metadata_plaintext(*mem.repo, "manifest", sealed));
  }
}

void index_seeds() {
  fuzz::MemoryRepo mem;
  {
    ChunkStore store(*mem.repo, {Codec::kZstd, 3}, 1);
    for (int i = 0; i < 5; ++i) store.add(i % 2 ? BlobType::kTree : BlobType::kData, as_bytes("chunk " + std::to_string(i)));
    store.commit();
  }
  int n = 0;
  for (const ObjectInfo& o : mem.storage->list("index/"))
    write_seed("index", std::to_string(n++),
               metadata_plaintext(*mem.repo, "index", mem.storage->get(o.key, 0, Storage::kWhole)));
  write_seed("index", "empty", encode_index_file({}));
  std::vector<PackRecord> two{{std::string(64, 'a'), {{BlobType::kData, id_of(5), 0, 10, 3}}},
                              {std::string(64, 'b'), {{BlobType::kTree, id_of(6), 10, 20, 4}, {BlobType::kData, id_of(7), 30, 40, 5}}}};
  write_seed("index", "two_packs", encode_index_file(two));
}

void pack_seeds() {
  const ObjectSealer sealer(fuzz::fixed_keys(), false, ChunkIdFunction::kHmacSha256);  // as fuzz_pack.cpp
  const std::string texts[] = {"alpha alpha alpha alpha alpha alpha alpha alpha", "beta", std::string(300, 'g')};
  const CompressionSpec specs[] = {{Codec::kZstd, 3}, {Codec::kNone, 0}, {Codec::kGzip, 6}, {Codec::kLz4, 0}};
  PackBuilder builder;
  int n = 0;
  for (const CompressionSpec& spec : specs) {
    for (const std::string& text : texts) {
      Bytes payload = encode_payload(spec, as_bytes(text));
      ChunkId id = hmac_sha256(sealer.keys().id, as_bytes(text));
      builder.add(n % 2 ? BlobType::kTree : BlobType::kData, id, static_cast<uint32_t>(text.size()),
                  sealer.seal("blob", payload));
      // Mode 2: one blob payload and its plaintext length.
      Bytes blob{2};
      append_le(blob, text.size(), 4);
      blob.insert(blob.end(), payload.begin(), payload.end());
      write_seed("pack", "blob_" + std::to_string(n++), blob);
    }
  }
  std::vector<PackEntry> entries;
  Bytes pack = builder.finish(sealer, &entries);
  // Mode 0: the whole pack.
  Bytes whole{0};
  whole.insert(whole.end(), pack.begin(), pack.end());
  write_seed("pack", "whole", whole);
  // Mode 3: the pack as storage serves it to fetch_pack_header, as it is and after 1000 bytes.
  for (uint64_t extra : {0, 1000}) {
    Bytes fetched{3};
    append_le(fetched, extra, 8);
    fetched.insert(fetched.end(), pack.begin(), pack.end());
    write_seed("pack", "fetch_" + std::to_string(extra), fetched);
  }
  // Mode 1: blob area and the header's plaintext.
  BinaryReader tail(ByteView(pack).subspan(pack.size() - 8, 4), "seed");
  uint32_t header_len = tail.u32();
  size_t area = pack.size() - 8 - header_len;
  Bytes header_plain = sealer.open("pack-header", ByteView(pack).subspan(area, header_len), "seed");
  Bytes table{1};
  append_le(table, area, 4);
  table.insert(table.end(), pack.begin(), pack.begin() + static_cast<ptrdiff_t>(area));
  table.insert(table.end(), header_plain.begin(), header_plain.end());
  write_seed("pack", "table", table);
}

// The bytes of a stream as read_tree/read_ref_list fetch them: its chunks, concatenated.
Bytes stream_bytes(Repository& repo, const std::vector<ChunkRef>& refs) {
  Bytes out;
  for (const ChunkRef& r : refs) {
    Bytes chunk = repo.read_blob(r.id);
    out.insert(out.end(), chunk.begin(), chunk.end());
  }
  return out;
}

void tree_seeds() {
  fuzz::MemoryRepo mem;
  ChunkStore store(*mem.repo, {Codec::kZstd, 3}, 1);
  files::FileEntry dir;
  dir.path = "uploads";
  dir.type = files::EntryType::kDirectory;
  dir.mode = 0755;
  dir.mtime_ns = 1700000000123456789;
  files::FileEntry file;
  file.path = "uploads/report 2024.pdf";
  file.mode = 0644;
  file.uid = file.gid = 1000;
  file.size = 5000;
  file.inode = 42;
  file.dev = 2049;
  file.chunks = {{id_of(8), 4000}, {id_of(9), 1000}};
  files::FileEntry link;
  link.path = "uploads/latest";
  link.type = files::EntryType::kSymlink;
  link.mode = 0777;
  link.link_target = "report 2024.pdf";
  files::FileEntry hard;
  hard.path = "uploads/copy\xff\xfe.pdf";  // not UTF-8: stored as p_hex
  hard.type = files::EntryType::kHardlink;
  hard.hardlink_target = file.path;
  files::FileEntry empty = file;
  empty.path = "uploads/empty";
  empty.size = 0;
  empty.chunks.clear();

  std::vector<ChunkRef> tree = write_tree(store, mem.repo->tree_chunker(), {dir, file, link, hard, empty});
  std::vector<ChunkRef> dump;
  uint64_t dump_bytes = 0;
  for (int i = 0; i < 6; ++i) {
    dump.push_back({id_of(20 + i), static_cast<uint32_t>(1000 + i)});
    dump_bytes += 1000 + i;
  }
  std::vector<ChunkRef> list = write_ref_list(store, mem.repo->db_chunker(), dump);
  store.commit();

  Bytes tree_stream = stream_bytes(*mem.repo, tree);
  for (uint8_t split : {0, 2}) {
    Bytes seed{0, split};
    seed.insert(seed.end(), tree_stream.begin(), tree_stream.end());
    write_seed("tree", "tree_" + std::to_string(split), seed);
  }
  Bytes list_stream = stream_bytes(*mem.repo, list);
  for (uint8_t split : {0, 3}) {
    Bytes seed{1, split};
    append_le(seed, dump_bytes, 8);
    seed.insert(seed.end(), list_stream.begin(), list_stream.end());
    write_seed("tree", "refs_" + std::to_string(split), seed);
  }
}

void config_seeds() {
  const char* const configs[] = {
      "backup_dir = \"/srv/backups\"\nbackup_paths = [\"/srv/app/uploads\", \"/etc/app\"]\n"
      "retention_days = 30\nkeep_daily = 7\nkeep_weekly = 4\nkeep_monthly = 12\nkeep_yearly = 2\n"
      "compression = \"zstd\"\ncompression_level = 5\nencryption = true\n"
      "backup_passphrase_file = \"/run/secrets/coffer\"\n",
      "db_host = \"localhost\"\ndb_port = 5432\ndb_name = \"school\"\ndb_user = \"backup\"\n"
      "db_password = \"s3cret\"\nlock_wait_seconds = 60\ncompression = false\n",
      "s3_bucket = \"school-backups\"\ns3_region = \"eu-central-1\"\ns3_mode = \"repository\"\n"
      "s3_endpoint = \"http://127.0.0.1:9000\"\ns3_prefix = \"coffer\"\ns3_path_style = true\n"
      "s3_storage_class = \"STANDARD_IA\"\ns3_sse = \"aws:kms\"\ns3_sse_kms_key_id = \"k1\"\n"
      "s3_verify_tls = true\ns3_retry_seconds = 120\naws_access_key_id = \"AKIA\"\n"
      "aws_secret_access_key = \"x\"\naws_profile = \"backup\"\n",
      "backup_schedule_full = \"0 0 1 1 *\"\nbackup_schedule_incremental = \"*/3 * * * * *\"\n"
      "backup_schedule_cleanup = \"5/10 * * * * *\"\ntz = \"Europe/Berlin\"\nmetrics_port = 9187\n"
      "status_max_age_hours = 26.5\nnotify_command = \"echo $COFFER_JOB\"\nnotify_on = \"always\"\n",
      "backup_paths = \"/a:/b::/c\"\ncompression_algorithm = \"gzip\"\ncompression_level = 9\n"
      "# a comment\n",
  };
  int n = 0;
  for (const char* c : configs) write_seed("config", std::to_string(n++), as_bytes(c));
}

void cron_seeds() {
  struct Seed {
    uint8_t zone;
    uint32_t start;
    const char* text;
  };
  const Seed seeds[] = {
      {0, 1735689600, "0 2 * * *"},          {1, 1711846800, "30 2 * * *"},
      {1, 1729990800, "0,30 2 * * *"},       {2, 1710054000, "*/15 * * * 1-5"},
      {0, 1700000000, "@daily"},             {3, 1712412000, "0 0 29 2 *"},
      {4, 1325152800, "0 9-17/2 * jan,jul mon-fri"}, {0, 1700000000, "*/10 * * * * *"},
      {5, 1700000000, "5/10 * 1,15 * sun"},  {6, 1700000000, "@weekly"},
      {7, 1700000000, "59 23 31 dec 7"},
  };
  int n = 0;
  for (const Seed& s : seeds) {
    Bytes b{s.zone};
    append_le(b, s.start, 4);
    std::string_view text(s.text);
    b.insert(b.end(), text.begin(), text.end());
    write_seed("cron", std::to_string(n++), b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds <corpus dir>\n";
    return 2;
  }
  g_root = argv[1];
  manifest_seeds();
  index_seeds();
  pack_seeds();
  tree_seeds();
  config_seeds();
  cron_seeds();
  return 0;
}
