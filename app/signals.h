// SIGINT/SIGTERM: the handler sets an atomic flag and nothing else; loops
// poll stop_requested() once per burst.
#pragma once

namespace rstguard::app {

void install_stop_handlers();
bool stop_requested();

}  // namespace rstguard::app
