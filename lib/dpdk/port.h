// DPDK ports for the live modes: configuration with symmetric RSS, queue
// setup and link reporting. Call from the main lcore only (not thread-safe),
// after rte_eal_init() and before workers start.
#pragma once

#include <cstdint>
#include <string>

struct rte_mempool;

namespace rstguard::dpdk {

struct PortRequest {
  uint16_t port_id = 0;
  uint16_t queues = 1;     // rx queues wanted (one per worker)
  uint16_t tx_queues = 1;  // 0 for a port that never transmits (mirror)
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
};

struct PortState {
  uint16_t port_id = 0;
  std::string name;    // device name, e.g. "net_af_packet0"
  std::string driver;  // driver name, e.g. "net_af_packet"
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
  // Both directions of a connection land on the same queue index:
  // hardware RSS with rstguard's symmetric key, the kernel's symmetric
  // fanout hash (af_packet), or a single queue.
  bool symmetric = false;
  std::string how;  // how symmetry is obtained, for the start-up log
};

// Configures and starts the port. Fewer rx queues than asked (the device's
// maximum) is not an error: `symmetric` and rx_queues say what was set up,
// and the caller re-hashes in software. Fewer tx queues than asked is an
// error (workers never share a tx queue). Returns false with *error set.
bool setup_port(const PortRequest& req, rte_mempool* pool, PortState* state, std::string* error);

// "up 10 Gbps full-duplex" / "down".
std::string link_text(uint16_t port_id);
bool link_up(uint16_t port_id);

// The 40-byte Toeplitz key 0x6d5a repeated: with it the RSS hash of
// (src, dst) equals that of (dst, src) (Woo & Park 2012).
extern const uint8_t kSymmetricRssKey[40];

}  // namespace rstguard::dpdk
