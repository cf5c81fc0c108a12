// Cron parsing: CronExpr::parse, then on what parses describe(), next_after/next_n in a time
// zone and dst_note for each run, as the scheduler does.
//   byte 0     time zone, from a fixed list (UTC and zones with unusual DST rules)
//   bytes 1-4  start time, seconds since 1970 (u32 little-endian: 1970..2106)
//   rest       the expression
// Extra checks on what parses: next_after finds a run (parse() promises it), the run is after
// the start, and describe()'s normalised form parses to the same schedule.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "schedule/cron_expr.h"

namespace {
const char* const kZones[] = {"UTC",           "Europe/Berlin",       "America/New_York", "Australia/Lord_Howe",
                              "Pacific/Apia",  "America/Sao_Paulo",   "Asia/Kathmandu",   "Pacific/Chatham"};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  using namespace coffer::schedule;
  if (size < 5) return 0;
  const std::string tz = kZones[data[0] % (sizeof kZones / sizeof kZones[0])];
  const TimePoint start{std::chrono::seconds(fuzz::le32(data + 1))};
  const std::string text(reinterpret_cast<const char*>(data + 5), size - 5);
  fuzz::run_guarded([&] {
    CronExpr e = CronExpr::parse(text);
    const std::string normal = e.describe();
    if (CronExpr::parse(normal).describe() != normal)
      fuzz::bug("describe() of '" + text + "' is '" + normal + "', which parses to something else");
    std::optional<TimePoint> next = e.next_after(start, tz);
    if (!next) fuzz::bug("no run found for '" + text + "', which parse() accepted");
    if (*next <= start) fuzz::bug("next_after returned a time not after the start for '" + text + "'");
    for (TimePoint run : e.next_n(*next, tz, 3)) (void)e.dst_note(run, tz);
  });
  return 0;
}
