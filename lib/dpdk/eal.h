// Ending an EAL run without leaving its files behind.
#pragma once

namespace rstguard::dpdk {

// rte_eal_cleanup(), then removes this process's runtime directory
// (/var/run/dpdk/<file-prefix>: the shared config, memseg arrays and the
// multi-process and telemetry sockets). DPDK 22.11 leaves it after every
// run, so a machine collects one per prefix ever used. Only a primary
// process that made the directory's shared config removes it, and not
// while another process holds that config's lock. Call once, as the last
// DPDK call, after rte_eal_init() succeeded.
void eal_cleanup();

}  // namespace rstguard::dpdk
