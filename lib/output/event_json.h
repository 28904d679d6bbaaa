// Event formatting: RstEvent -> one JSON object per line (schema in
// README.md, "Events"). Runs on the main lcore, never on a worker.
// Thread-safe (no shared state).
#pragma once

#include <string>

#include "core/event.h"

namespace rstguard::output {

// Appends the event's JSON (no trailing newline) to `out`.
void format_event_json(const RstEvent& e, std::string& out);
// "2024-05-01T12:00:00.123456+0000" (UTC, microseconds), as Suricata's EVE.
std::string format_timestamp(uint64_t ts_ns);
// "10.0.0.1" / "2001:db8::1".
std::string format_ip(const IpAddr& a);
// TCP flags as letters in bit order: F S R P A U E C ("RA" = RST+ACK).
std::string format_tcp_flags(uint8_t flags);
// One human-readable line for the terminal.
std::string format_event_text(const RstEvent& e);

}  // namespace rstguard::output
