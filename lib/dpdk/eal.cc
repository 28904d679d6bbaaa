#include "dpdk/eal.h"

#include <fcntl.h>
#include <rte_eal.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace rstguard::dpdk {
namespace {

// The primary process holds a write lock on <runtime dir>/config for as
// long as it runs (rte_eal_init). Another process's lock shows here; our
// own does not (F_GETLK reports only conflicting locks).
bool another_process_holds(const std::string& config) {
  const int fd = ::open(config.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  const bool held = fcntl(fd, F_GETLK, &lock) != 0 || lock.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

}  // namespace

void eal_cleanup() {
  const char* dir = rte_eal_get_runtime_dir();
  const std::string runtime = dir != nullptr ? dir : "";
  // Only a primary that created the shared config owns the directory: a
  // secondary, or a run with --no-shconf or --in-memory beside another
  // primary with the same --file-prefix, must leave it alone.
  const bool primary = rte_eal_process_type() == RTE_PROC_PRIMARY;
  const std::string config = runtime + "/config";
  std::error_code ec;
  const bool has_config = !runtime.empty() && std::filesystem::exists(config, ec);
  rte_eal_cleanup();
  if (!primary || !has_config || runtime == "/" || another_process_holds(config)) return;
  // The files in it, then it; a failure (a file that is busy) is harmless.
  for (const auto& entry : std::filesystem::directory_iterator(runtime, ec)) {
    if (!entry.is_directory(ec)) std::filesystem::remove(entry.path(), ec);
  }
  std::filesystem::remove(runtime, ec);
}

}  // namespace rstguard::dpdk
