#include "dpdk/eal.h"

#include <rte_eal.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace rstguard::dpdk {

void eal_cleanup() {
  const char* dir = rte_eal_get_runtime_dir();
  const std::string runtime = dir != nullptr ? dir : "";
  rte_eal_cleanup();
  // Only a directory of its own: the files in it, then it. Nothing else
  // is touched, and a failure (another process still there) is harmless.
  if (runtime.empty() || runtime == "/") return;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(runtime, ec)) {
    if (!entry.is_directory(ec)) std::filesystem::remove(entry.path(), ec);
  }
  std::filesystem::remove(runtime, ec);
}

}  // namespace rstguard::dpdk
