// Live modes on DPDK ports: inline (forward between two ports, drop what
// the policy says) and mirror (read only).
#pragma once

#include "app/options.h"
#include "config/config.h"

namespace rstguard::app {

// `eal_argc/eal_argv`: argv[0] and the EAL arguments (before "--").
// Returns the exit status: 0 stopped cleanly, 1 runtime failure, 2 an
// impossible setup (ports, lcores, queues).
int run_live(int eal_argc, char** eal_argv, const Options& options, const config::Config& config);

}  // namespace rstguard::app
