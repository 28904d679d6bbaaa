// Offline mode: a capture file through the same Worker the live modes use,
// clocked by the packets' own timestamps (deterministic), ending at EOF.
#pragma once

#include "app/options.h"
#include "config/config.h"

namespace rstguard::app {

// Returns the process exit status (0 done, 1 input failed).
int run_offline(const Options& options, const config::Config& config);

}  // namespace rstguard::app
