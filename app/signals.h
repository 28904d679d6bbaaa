// SIGINT/SIGTERM: the handler sets an atomic flag and nothing else; loops
// poll stop_requested() once per burst.
#pragma once

namespace rstguard::app {

void install_stop_handlers();
bool stop_requested();
// SIGHUP (or a telemetry command) asks for a configuration reload; the
// main loop takes the request (test-and-clear).
void request_reload();
bool take_reload_request();
// SIGUSR1 asks for the summary so far (printed, the run goes on).
bool take_stats_request();

}  // namespace rstguard::app
