// rstguard-gen: writes the scenario captures (one pcap per field-guide row
// and variant) and the bundled demo capture.
//   rstguard-gen --out DIR          every scenario, DIR/NAME.pcap
//   rstguard-gen --demo FILE        the demo capture
//   rstguard-gen --pressure DIR     the flood and held-reset pressure captures
//   rstguard-gen --list             scenario names
#include <cstdio>
#include <cstring>
#include <string>

#include "scenarios/scenarios.h"

int main(int argc, char** argv) {
  using namespace rstguard::scenario;
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const NamedCapture& s : all_scenarios()) std::puts(s.name.c_str());
    return 0;
  }
  if (argc != 3 || (std::strcmp(argv[1], "--out") != 0 && std::strcmp(argv[1], "--demo") != 0 &&
                    std::strcmp(argv[1], "--pressure") != 0)) {
    std::fputs("usage: rstguard-gen --out DIR | --pressure DIR | --demo FILE | --list\n", stderr);
    return 2;
  }
  std::string error;
  if (std::strcmp(argv[1], "--demo") == 0) {
    if (!demo_capture().write_pcap(argv[2], &error)) {
      std::fprintf(stderr, "rstguard-gen: %s\n", error.c_str());
      return 1;
    }
    return 0;
  }
  const bool pressure = std::strcmp(argv[1], "--pressure") == 0;
  int written = 0;
  for (const NamedCapture& s : pressure ? pressure_captures() : all_scenarios()) {
    const std::string path = std::string(argv[2]) + "/" + s.name + ".pcap";
    if (!s.capture.write_pcap(path, &error)) {
      std::fprintf(stderr, "rstguard-gen: %s\n", error.c_str());
      return 1;
    }
    ++written;
  }
  std::printf("rstguard-gen: %d scenario captures in %s\n", written, argv[2]);
  return 0;
}
