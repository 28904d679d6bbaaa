// Output files that rotate (output.rotate_mib): the flagged capture
// (CaptureWriter) and the events file (EventSink, spdlog's rotating sink).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "capture/capture_file.h"
#include "output/event_json.h"
#include "output/event_sink.h"

namespace rstguard {
namespace {

namespace fs = std::filesystem;

class RotationTest : public ::testing::Test {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/rotation_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  // Records of a pcap file, read back with rstguard's own reader; their
  // first byte each.
  std::vector<uint8_t> firsts(const std::string& file) const {
    std::string error;
    auto r = CaptureReader::open(file, &error);
    EXPECT_NE(r, nullptr) << error;
    std::vector<uint8_t> out;
    if (r == nullptr) return out;
    CaptureRecord recs[64];
    size_t n;
    while ((n = r->read_burst(recs, 64)) > 0) {
      for (size_t i = 0; i < n; ++i) out.push_back(recs[i].data[0]);
    }
    EXPECT_EQ(r->status(), CaptureReader::Status::kEnd) << r->error();
    return out;
  }
  std::string dir_;
};

TEST(RotatedName, InsertsTheIndexBeforeTheExtension) {
  EXPECT_EQ(rotated_name("/var/log/flagged.pcap", 0), "/var/log/flagged.pcap");
  EXPECT_EQ(rotated_name("/var/log/flagged.pcap", 2), "/var/log/flagged.2.pcap");
  EXPECT_EQ(rotated_name("events", 1), "events.1");
  EXPECT_EQ(rotated_name("/a.b/events", 1), "/a.b/events.1");
  EXPECT_EQ(rotated_name("/x/.hidden", 3), "/x/.hidden.3");
  EXPECT_EQ(rotated_name("x.", 1), "x..1");
}

TEST_F(RotationTest, CaptureWriterStartsANewFileAtTheLimitAndKeepsTheNewest) {
  const std::string file = path("flagged.pcap");
  // 24-byte header + 10 records of 16 + 84 bytes = 1024: 10 records a file.
  const Rotation rot{1024, 2};
  std::string error;
  auto w = CaptureWriter::open(file, 1, &error, rot);
  ASSERT_NE(w, nullptr) << error;
  std::vector<uint8_t> frame(84);
  for (int i = 0; i < 35; ++i) {
    frame[0] = static_cast<uint8_t>(i);
    ASSERT_TRUE(w->write(frame.data(), 84, 84, i * 1000ull)) << w->error();
  }
  ASSERT_TRUE(w->flush());
  EXPECT_EQ(w->rotations(), 3u);
  EXPECT_EQ(w->records_written(), 35u);
  // Records 0-9 went to the oldest file, which the third rotation removed.
  EXPECT_EQ(firsts(file), (std::vector<uint8_t>{30, 31, 32, 33, 34}));
  std::vector<uint8_t> one, two;
  for (uint8_t i = 20; i < 30; ++i) one.push_back(i);
  for (uint8_t i = 10; i < 20; ++i) two.push_back(i);
  EXPECT_EQ(firsts(path("flagged.1.pcap")), one);
  EXPECT_EQ(firsts(path("flagged.2.pcap")), two);
  EXPECT_FALSE(fs::exists(path("flagged.3.pcap")));
  for (const char* f : {"flagged.1.pcap", "flagged.2.pcap"}) {
    EXPECT_LE(fs::file_size(path(f)), 1024u) << f;
  }
}

TEST_F(RotationTest, CaptureWriterRotatesAnEarlierRunsFileAway) {
  const std::string file = path("flagged.pcap");
  std::string error;
  std::vector<uint8_t> frame(60, 7);
  {
    auto w = CaptureWriter::open(file, 1, &error, Rotation{1 << 20, 3});
    ASSERT_NE(w, nullptr) << error;
    ASSERT_TRUE(w->write(frame.data(), 60, 60, 1));
  }
  frame[0] = 9;
  {
    auto w = CaptureWriter::open(file, 1, &error, Rotation{1 << 20, 3});
    ASSERT_NE(w, nullptr) << error;
    ASSERT_TRUE(w->write(frame.data(), 60, 60, 2));
  }
  EXPECT_EQ(firsts(file), std::vector<uint8_t>{9});
  EXPECT_EQ(firsts(path("flagged.1.pcap")), std::vector<uint8_t>{7});
  // Without rotation the file is simply overwritten, as before.
  {
    auto w = CaptureWriter::open(file, 1, &error);
    ASSERT_NE(w, nullptr) << error;
  }
  EXPECT_TRUE(firsts(file).empty());
  EXPECT_FALSE(fs::exists(path("flagged.2.pcap")));
}

TEST_F(RotationTest, ARecordLargerThanTheLimitStillGetsAFile) {
  const std::string file = path("big.pcap");
  std::string error;
  auto w = CaptureWriter::open(file, 1, &error, Rotation{100, 5});
  ASSERT_NE(w, nullptr) << error;
  std::vector<uint8_t> frame(500, 1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->write(frame.data(), 500, 500, i));
  ASSERT_TRUE(w->flush());
  EXPECT_EQ(w->rotations(), 2u);  // one record per file, never an empty file
  for (const std::string& f : {file, path("big.1.pcap"), path("big.2.pcap")}) {
    EXPECT_EQ(firsts(f).size(), 1u) << f;
  }
}

TEST_F(RotationTest, AFailedRotationKeepsWritingWhereItIs) {
  const std::string file = path("stuck.pcap");
  fs::create_directory(path("stuck.1.pcap"));  // the rename onto it fails
  fs::create_directory(path("stuck.1.pcap/x"));
  std::string error;
  auto w = CaptureWriter::open(file, 1, &error, Rotation{1024, 1});
  ASSERT_NE(w, nullptr) << error;
  std::vector<uint8_t> frame(84);
  std::string warning;
  for (int i = 0; i < 25; ++i) {
    frame[0] = static_cast<uint8_t>(i);
    ASSERT_TRUE(w->write(frame.data(), 84, 84, i)) << w->error();
    const std::string now = w->take_warning();
    if (!now.empty()) {
      EXPECT_TRUE(warning.empty()) << "warned twice";
      warning = now;
    }
  }
  ASSERT_TRUE(w->flush());
  EXPECT_NE(warning.find("not rotating " + file + " any more"), std::string::npos) << warning;
  EXPECT_EQ(w->rotations(), 0u);
  EXPECT_EQ(firsts(file).size(), 25u);  // nothing lost
}

TEST_F(RotationTest, AFifoIsWrittenOnNeverRenamed) {
  const std::string fifo = path("flagged.pcap");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  size_t drained = 0;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) drained += static_cast<size_t>(in.gcount());
  });
  {
    std::string error;
    auto w = CaptureWriter::open(fifo, 1, &error, Rotation{1024, 2});
    ASSERT_NE(w, nullptr) << error;
    std::vector<uint8_t> frame(84, 3);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(w->write(frame.data(), 84, 84, i));
    ASSERT_TRUE(w->flush());
    EXPECT_EQ(w->rotations(), 0u);
  }
  reader.join();
  EXPECT_EQ(drained, 24u + 40u * 100u);  // one stream, one header
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_FALSE(fs::exists(path("flagged.1.pcap")));
}

TEST_F(RotationTest, EventSinkRotatesAndEveryLineSurvivesWhole) {
  const std::string file = path("events.json");
  RstEvent e;
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  e.src = IpAddr::from_v4(a);
  e.dst = IpAddr::from_v4(b);
  std::string line;
  output::format_event_json(e, line);
  const size_t per_line = line.size() + 1;
  {
    output::EventSink sink(file, per_line * 10, 3);
    for (int i = 0; i < 25; ++i) {
      e.packet_number = static_cast<uint64_t>(i + 1);
      sink.write(e);
    }
    EXPECT_TRUE(sink.flush());
    EXPECT_EQ(sink.written(), 25u);
  }
  size_t lines = 0;
  for (const std::string& f : {file, path("events.1.json"), path("events.2.json")}) {
    ASSERT_TRUE(fs::exists(f)) << f;
    EXPECT_LE(fs::file_size(f), per_line * 10) << f;
    std::ifstream in(f);
    for (std::string l; std::getline(in, l); ++lines) {
      EXPECT_EQ(l.front(), '{') << f;
      EXPECT_EQ(l.back(), '}') << f;
    }
  }
  EXPECT_EQ(lines, 25u);
  // A new run moves the last run's file to events.1.json.
  { output::EventSink sink(file, per_line * 10, 3); }
  EXPECT_EQ(fs::file_size(file), 0u);
  EXPECT_GT(fs::file_size(path("events.1.json")), 0u);
}

}  // namespace
}  // namespace rstguard
