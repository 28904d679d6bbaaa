#include "app/reload.h"

#include <spdlog/spdlog.h>

namespace rstguard::app {

std::shared_ptr<const PolicySet> reload_policy(const Options& options,
                                               const config::Config& running,
                                               const PolicySet& current, std::string* status) {
  if (options.config_path.empty()) {
    *status = "no configuration file to reload (-c)";
    spdlog::warn("reload: {}", *status);
    return nullptr;
  }
  config::Config fresh;
  try {
    fresh = config::load_config_file(options.config_path);
    apply_overrides(options, fresh);
  } catch (const config::ConfigError& e) {
    *status = std::string("refused: ") + e.what();
    spdlog::error("reload {}; the running policy (generation {}) stays", *status,
                  current.generation());
    return nullptr;
  }
  if (fresh.flow.capacity != running.flow.capacity || fresh.live.workers != running.live.workers ||
      fresh.live.ports != running.live.ports || fresh.live.mode != running.live.mode ||
      fresh.output.events != running.output.events || fresh.burst_size != running.burst_size ||
      !(fresh.pools == running.pools) || !(fresh.incidents == running.incidents)) {
    spdlog::warn("reload: flow table, pools, incidents, ports, workers, mode, burst size and the "
                 "events file change only on restart; those settings are kept");
  }
  auto next = fresh.policy->with_generation(current.generation() + 1);
  *status = "generation " + std::to_string(next->generation()) + ", " +
            std::to_string(next->rules().size()) + " rules";
  spdlog::info("reload: {}", *status);
  return next;
}

}  // namespace rstguard::app
