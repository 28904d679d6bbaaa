#include "app/signals.h"

#include <atomic>
#include <csignal>

namespace rstguard::app {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
std::atomic<bool> g_stats{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
void on_hangup(int) { g_reload.store(true, std::memory_order_relaxed); }
void on_usr1(int) { g_stats.store(true, std::memory_order_relaxed); }
}  // namespace

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup{};
  hup.sa_handler = on_hangup;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  struct sigaction usr1{};
  usr1.sa_handler = on_usr1;
  sigemptyset(&usr1.sa_mask);
  sigaction(SIGUSR1, &usr1, nullptr);
  // A reader that goes away (`| head`) is an output failure rstguard reports
  // (EPIPE), not a silent death.
  signal(SIGPIPE, SIG_IGN);
}

void request_reload() { g_reload.store(true, std::memory_order_relaxed); }
bool take_reload_request() { return g_reload.exchange(false, std::memory_order_relaxed); }

bool take_stats_request() { return g_stats.exchange(false, std::memory_order_relaxed); }

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }

}  // namespace rstguard::app
