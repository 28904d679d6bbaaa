// rstguard: judges every TCP reset on a link or in a capture.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "app/live.h"
#include "app/offline.h"
#include "app/options.h"
#include "config/config.h"
#include "core/flow_table.h"

namespace {

constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  auto log = spdlog::stderr_color_st("rstguard");
  spdlog::set_default_logger(log);
  spdlog::set_pattern("rstguard: %^%l%$: %v");

  // `rstguard [EAL args] -- [rstguard args]`: the EAL part is for the live
  // modes; without "--" every argument is rstguard's.
  int first = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      first = i;
      break;
    }
  }
  std::vector<char*> args;
  args.push_back(argv[0]);
  for (int i = first + 1; i < argc; ++i) args.push_back(argv[i]);
  if (first == 0) args.assign(argv, argv + argc);

  std::string error;
  auto options = rstguard::app::parse_options(static_cast<int>(args.size()), args.data(), &error);
  if (!options) {
    spdlog::error("{}", error);
    std::fputs("try 'rstguard --help'\n", stderr);
    return kExitUsage;
  }
  if (options->help) {
    std::fputs(rstguard::app::usage_text(), stdout);
    return 0;
  }
  if (options->version) {
    std::puts("rstguard " RSTGUARD_VERSION);
    return 0;
  }

  rstguard::config::Config cfg;
  try {
    if (!options->config_path.empty()) cfg = rstguard::config::load_config_file(options->config_path);
    rstguard::app::apply_overrides(*options, cfg);
  } catch (const rstguard::config::ConfigError& e) {
    spdlog::error("{}", e.what());
    return kExitUsage;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.output.log_level));
  // A flow table or pool the machine cannot hold is the configuration's
  // fault: a clear error and the usage exit status, not SIGABRT.
  try {
    if (options->mode == "offline") return rstguard::app::run_offline(*options, cfg);
    // Live: EAL gets argv[0] and what came before "--".
    std::vector<char*> eal(argv, argv + (first == 0 ? 1 : first));
    eal.push_back(nullptr);
    return rstguard::app::run_live(static_cast<int>(eal.size() - 1), eal.data(), *options, cfg);
  } catch (const rstguard::CapacityError& e) {
    spdlog::error("{}", e.what());
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    spdlog::error("cannot allocate the flow table, pools and hold queue this configuration "
                  "asks for: lower flow_table.capacity, pools or hold.max_packets");
    return kExitUsage;
  }
}
