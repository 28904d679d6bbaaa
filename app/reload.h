// Configuration reload, shared by the offline and live modes: load and
// validate the whole file first; on any error keep the running policy and
// log why. Main lcore only.
#pragma once

#include <memory>
#include <string>

#include "app/options.h"
#include "config/config.h"

namespace rstguard::app {

// Returns the new policy (generation = current + 1), or nullptr after
// logging the error. Settings that cannot change while running (flow table
// size, ports, workers, output files) are left as they were, with a warning.
std::shared_ptr<const PolicySet> reload_policy(const Options& options,
                                               const config::Config& running,
                                               const PolicySet& current, std::string* status);

}  // namespace rstguard::app
