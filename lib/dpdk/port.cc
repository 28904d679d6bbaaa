#include "dpdk/port.h"

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <algorithm>
#include <vector>

namespace rstguard::dpdk {

const uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

namespace {

std::string err(uint16_t port, const std::string& what, int rc) {
  return "port " + std::to_string(port) + ": " + what + ": " + rte_strerror(-rc);
}

}  // namespace

bool setup_port(const PortRequest& req, rte_mempool* pool, PortState* st, std::string* error) {
  const uint16_t port = req.port_id;
  if (!rte_eth_dev_is_valid_port(port)) {
    *error = "port " + std::to_string(port) + " does not exist (" +
             std::to_string(rte_eth_dev_count_avail()) + " ports; give devices with --vdev or -a)";
    return false;
  }
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port, &info);
  if (rc != 0) {
    *error = err(port, "cannot read device info", rc);
    return false;
  }
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port, name);
  st->port_id = port;
  st->name = name;
  st->driver = info.driver_name != nullptr ? info.driver_name : "?";

  st->rx_queues = std::min<uint16_t>(req.queues, std::max<uint16_t>(info.max_rx_queues, 1));
  if (req.tx_queues > info.max_tx_queues) {
    *error = "port " + std::to_string(port) + " (" + st->name + ") has " +
             std::to_string(info.max_tx_queues) + " tx queues; " + std::to_string(req.tx_queues) +
             " workers need one each (af_packet: qpairs=N)";
    return false;
  }
  st->tx_queues = std::max<uint16_t>(req.tx_queues, 1);  // some PMDs need one

  rte_eth_conf conf{};
  const uint64_t rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
  std::vector<uint8_t> key;
  if (st->rx_queues == 1) {
    st->symmetric = true;
    st->how = "one rx queue";
  } else if (rss_hf != 0) {
    // The pattern repeats every two bytes, so any key length keeps symmetry.
    key.resize(info.hash_key_size ? info.hash_key_size : sizeof(kSymmetricRssKey));
    for (size_t i = 0; i < key.size(); ++i) key[i] = kSymmetricRssKey[i % 2];
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    st->symmetric = true;
    st->how = "RSS with the symmetric key";
  } else if (st->driver == "net_af_packet") {
    // PACKET_FANOUT_HASH uses the kernel's flow hash, which orders the
    // addresses and ports before hashing: both directions, and both
    // interfaces, pick the same queue index.
    st->symmetric = true;
    st->how = "kernel fanout hash (symmetric)";
  } else {
    st->symmetric = false;
    st->how = "no RSS";
  }

  rc = rte_eth_dev_configure(port, st->rx_queues, st->tx_queues, &conf);
  if (rc != 0) {
    *error = err(port, "configure", rc);
    return false;
  }
  uint16_t rxd = req.rx_desc, txd = req.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(port);
  const unsigned sock = socket < 0 ? 0 : static_cast<unsigned>(socket);
  for (uint16_t q = 0; q < st->rx_queues; ++q) {
    rc = rte_eth_rx_queue_setup(port, q, rxd, sock, nullptr, pool);
    if (rc != 0) {
      *error = err(port, "rx queue " + std::to_string(q), rc);
      return false;
    }
  }
  for (uint16_t q = 0; q < st->tx_queues; ++q) {
    rc = rte_eth_tx_queue_setup(port, q, txd, sock, nullptr);
    if (rc != 0) {
      *error = err(port, "tx queue " + std::to_string(q), rc);
      return false;
    }
  }
  rc = rte_eth_dev_start(port);
  if (rc != 0) {
    *error = err(port, "start", rc);
    return false;
  }
  rte_eth_promiscuous_enable(port);  // not every virtual device supports it
  return true;
}

std::string link_text(uint16_t port_id) {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id, &link) != 0) return "unknown";
  char text[RTE_ETH_LINK_MAX_STR_LEN];
  rte_eth_link_to_str(text, sizeof(text), &link);
  return text;
}

bool link_up(uint16_t port_id) {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace rstguard::dpdk
