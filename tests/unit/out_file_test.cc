// OutFile: the promise behind every output (events, -w, --flagged) that a
// failed write leaves only whole records, that "written" counts what reached
// the file, and that waits for a reader give way to a stop.
#include "capture/out_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "output/event_sink.h"

namespace rstguard {
namespace {

namespace fs = std::filesystem;

class OutFileTest : public ::testing::Test {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/out_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

std::string slurp(const std::string& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file size limit (RLIMIT_FSIZE) stands in for a full disk: the write
// that crosses it is cut short, the next fails (EFBIG), as ENOSPC does.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit r = saved_;
    r.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_);
  }

 private:
  rlimit saved_{};
  void (*old_)(int) = nullptr;
};

TEST_F(OutFileTest, AFullDiskLeavesOnlyWholeLinesAndCountsWhatReachedTheFile) {
  const std::string file = path("events.json");
  std::string error;
  auto f = OutFile::open(file, &error, OutFileOptions{.buffer_bytes = 4096});
  ASSERT_NE(f, nullptr) << error;
  uint64_t accepted = 0;
  {
    FileSizeLimit limit(10'007);  // not a multiple of any line length below
    for (int i = 0; i < 2000; ++i) {
      const std::string line = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" +
                               std::string(static_cast<size_t>(i % 37), 'x') + "\"}\n";
      if (f->append(line.data(), line.size())) ++accepted;
    }
    EXPECT_FALSE(f->flush());
  }
  EXPECT_TRUE(f->failed());
  EXPECT_NE(f->error().find(file + ": write: "), std::string::npos) << f->error();
  EXPECT_NE(f->error().find(std::strerror(EFBIG)), std::string::npos) << f->error();
  const std::string text = slurp(file);
  ASSERT_FALSE(text.empty());
  EXPECT_LE(text.size(), 10'007u);
  EXPECT_EQ(text.back(), '\n') << "a cut line was left behind";
  const uint64_t lines = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
  EXPECT_EQ(f->records_written(), lines);
  EXPECT_EQ(f->records_written() + f->records_lost(), 2000u);
  EXPECT_GT(f->records_lost(), 0u);
  EXPECT_LT(accepted, 2000u);  // appends after the failure are refused
  EXPECT_FALSE(f->close());
}

TEST_F(OutFileTest, ARecordLargerThanTheBufferIsCutBackToo) {
  const std::string file = path("big.bin");
  std::string error;
  auto f = OutFile::open(file, &error, OutFileOptions{.header = "HDR", .buffer_bytes = 64});
  ASSERT_NE(f, nullptr) << error;
  ASSERT_TRUE(f->append("0123456789\n", 11));
  ASSERT_TRUE(f->flush());
  FileSizeLimit limit(100);
  const std::string big(500, 'b');
  EXPECT_FALSE(f->append(big.data(), big.size()));
  EXPECT_EQ(slurp(file), "HDR0123456789\n");
  EXPECT_EQ(f->records_written(), 1u);
  EXPECT_EQ(f->records_lost(), 1u);
}

TEST_F(OutFileTest, DevFullFailsOnTheFirstWriteWithTheReason) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  output::EventSink sink("/dev/full");
  RstEvent e;
  EXPECT_TRUE(sink.write(e));  // buffered
  EXPECT_FALSE(sink.flush());
  EXPECT_EQ(sink.error(), std::string("/dev/full: write: ") + std::strerror(ENOSPC));
  EXPECT_FALSE(sink.write(e));
  EXPECT_EQ(sink.written(), 0u);
  EXPECT_EQ(sink.lost(), 2u);
}

TEST_F(OutFileTest, MissingFoldersAreMadeAndAFileInTheWayIsNamed) {
  std::string error;
  const std::string deep = path("a/b/c/events.json");
  {
    output::EventSink sink(deep);
    EXPECT_TRUE(sink.write(RstEvent{}));
    EXPECT_TRUE(sink.close());
    EXPECT_EQ(sink.written(), 1u);
  }
  EXPECT_TRUE(fs::exists(deep));
  EXPECT_FALSE(check_output_path(deep + "/stats.json", &error));
  EXPECT_EQ(error, deep + "/stats.json: " + deep + " is not a folder");
  EXPECT_FALSE(check_output_path(path("a"), &error));
  EXPECT_EQ(error, path("a") + ": is a folder");
  EXPECT_TRUE(check_output_path(path("x/y/stats.json"), &error)) << error;
  EXPECT_TRUE(fs::exists(path("x/y/stats.json")));
  EXPECT_FALSE(fs::exists(path("x/y/stats.json.tmp")));
  // An unwritable folder (root writes anywhere: checked where it is not).
  if (geteuid() != 0) {
    fs::create_directory(path("ro"));
    chmod(path("ro").c_str(), 0555);
    EXPECT_FALSE(check_output_path(path("ro/m.prom"), &error));
    EXPECT_NE(error.find(std::strerror(EACCES)), std::string::npos) << error;
  }
  EXPECT_THROW(output::EventSink(deep + "/no.json"), std::runtime_error);
}

TEST_F(OutFileTest, AFifoWithNoReaderGivesWayToAStop) {
  const std::string fifo = path("events.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> stop{false};
  int waited = 0;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  OutFileOptions o;
  o.stop = [&] { return stop.load(); };
  o.waiting = [&] { ++waited; };
  auto f = OutFile::open(fifo, &error, o);
  const auto took = std::chrono::steady_clock::now() - t0;
  stopper.join();
  EXPECT_EQ(f, nullptr);
  EXPECT_EQ(error, fifo + ": gave up waiting for a reader of the FIFO (stopping)");
  EXPECT_EQ(waited, 1);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(OutFileTest, AFullPipeGivesWayToAStopAndCountsWhatWentThrough) {
  const std::string fifo = path("events.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // A reader that opens and then reads nothing.
  const int rfd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rfd, 0);
  std::atomic<bool> stop{false};
  std::string error;
  OutFileOptions o;
  o.stop = [&] { return stop.load(); };
  auto f = OutFile::open(fifo, &error, o);
  ASSERT_NE(f, nullptr) << error;
  const std::string line(99, 'l');
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(f->append((line + "\n").data(), 100));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(f->flush());  // 500 kB into a 64 kB pipe nobody reads
  const auto took = std::chrono::steady_clock::now() - t0;
  stopper.join();
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_NE(f->error().find("gave up waiting for the reader"), std::string::npos) << f->error();
  EXPECT_GT(f->records_written(), 0u);
  EXPECT_GT(f->records_lost(), 0u);
  EXPECT_EQ(f->records_written() + f->records_lost(), 5000u);
  // What the pipe holds is every record counted written (and part of the
  // next one at most).
  std::string got(1 << 20, '\0');
  const ssize_t n = ::read(rfd, got.data(), got.size());
  ::close(rfd);
  ASSERT_GT(n, 0);
  EXPECT_GE(static_cast<uint64_t>(n), f->records_written() * 100);
  EXPECT_LT(static_cast<uint64_t>(n), (f->records_written() + 1) * 100);
}

TEST_F(OutFileTest, ARotationStartsEachFileWithTheHeader) {
  const std::string file = path("f.bin");
  std::string error;
  OutFileOptions o;
  o.rotation = Rotation{20, 2};
  o.header = "H:";
  auto f = OutFile::open(file, &error, o);
  ASSERT_NE(f, nullptr) << error;
  for (const char* r : {"aaaaaaa\n", "bbbbbbb\n", "ccccccc\n", "ddddddd\n"}) {
    ASSERT_TRUE(f->append(r, 8));
  }
  ASSERT_TRUE(f->close());
  EXPECT_EQ(f->rotations(), 1u);
  EXPECT_EQ(f->records_written(), 4u);
  EXPECT_EQ(slurp(path("f.1.bin")), "H:aaaaaaa\nbbbbbbb\n");
  EXPECT_EQ(slurp(file), "H:ccccccc\nddddddd\n");
}

}  // namespace
}  // namespace rstguard
