// The Prometheus text file: names, types, values and the atomic write.
#include "output/metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

namespace rstguard::output {
namespace {

Counters sample_counters() {
  Counters c;
  c.pkt_total = 1000;
  c.pkt_forwarded = 990;
  c.pkt_dropped = 10;
  c.flow_created = 42;
  c.rst_total = 12;
  c.rst_label[static_cast<int>(Label::forged)] = 10;
  c.rst_label[static_cast<int>(Label::legit)] = 2;
  c.rst_cause[static_cast<int>(Cause::injected)] = 10;
  return c;
}

RunInfo sample_info() {
  RunInfo info;
  info.mode = "inline";
  info.seconds = 12.5;
  info.flows_active = 40;
  info.flow_capacity = 65536;
  WorkerInfo w;
  w.lcore = 3;
  w.packets = 1000;
  w.tx = 990;
  info.workers.push_back(w);
  return info;
}

// Every line is a comment (HELP/TYPE) or a sample `name{labels} value`;
// each family is declared once, before its samples, with a valid name.
TEST(Metrics, ExpositionFormat) {
  const std::string text = format_metrics(sample_counters(), sample_info());
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z]+="[a-z0-9_.]+"(,[a-z]+="[a-z0-9_.]+")*\})? ([0-9]+(\.[0-9]+)?))");
  std::set<std::string> declared;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  size_t samples = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_TRUE(declared.insert(m[1]).second) << "declared twice: " << line;
    } else if (std::regex_match(line, m, type)) {
      types[m[1]] = m[2];
    } else {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
      EXPECT_TRUE(declared.count(m[1])) << "sample before its family: " << line;
      if (types[m[1]] == "counter") {
        EXPECT_EQ(std::string(m[1]).substr(std::string(m[1]).size() - 6), "_total") << line;
      }
      ++samples;
    }
  }
  EXPECT_GT(samples, 50u);
  EXPECT_NE(text.find("\nrstguard_pkt_total 1000\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_pkt_dropped_total 10\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_flow_created_total 42\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_rst_label_total{label=\"forged\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_rst_cause_total{cause=\"injected\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_flows_active 40\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_parse_total{result=\"ok\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_uptime_seconds 12.500\n"), std::string::npos);
  EXPECT_NE(text.find("\nrstguard_worker_tx_total{worker=\"0\",lcore=\"3\"} 990\n"),
            std::string::npos);
  EXPECT_EQ(types["rstguard_flows_active"], "gauge");
  EXPECT_EQ(types["rstguard_tcp_rst_total"], "counter");
}

TEST(Metrics, NoWorkerFamiliesOffline) {
  RunInfo info = sample_info();
  info.workers.clear();
  EXPECT_EQ(format_metrics(sample_counters(), info).find("rstguard_worker_"), std::string::npos);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Metrics, FileIsReplacedWhole) {
  char dir_template[] = "/tmp/rstguard-metrics-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  const std::string path = std::string(dir) + "/rstguard.prom";
  std::string error;
  ASSERT_TRUE(write_file_atomically(path, "first\n", &error)) << error;
  EXPECT_EQ(slurp(path), "first\n");
  ASSERT_TRUE(write_file_atomically(path, "second\n", &error)) << error;
  EXPECT_EQ(slurp(path), "second\n");
  EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0);  // no temporary left
  // A directory that does not exist: a clear error naming the file.
  const std::string bad = std::string(dir) + "/missing/rstguard.prom";
  EXPECT_FALSE(write_file_atomically(bad, "x\n", &error));
  EXPECT_NE(error.find("missing/rstguard.prom.tmp"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace rstguard::output
