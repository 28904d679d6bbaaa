// CaptureReader / CaptureWriter on hand-built pcap and pcapng bytes. Every
// file lives in a fresh mkdtemp directory under /tmp.
#include "capture/capture_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <filesystem>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <thread>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace rstguard {
namespace {

using Status = CaptureReader::Status;

// Little- or big-endian byte builder.
class Bytes {
 public:
  explicit Bytes(bool big_endian = false) : big_endian_(big_endian) {}
  Bytes& u8(uint8_t v) {
    buf.push_back(v);
    return *this;
  }
  Bytes& u16(uint16_t v) { return put(v, 2); }
  Bytes& u32(uint32_t v) { return put(v, 4); }
  Bytes& u64(uint64_t v) { return put(v, 8); }
  Bytes& raw(const std::vector<uint8_t>& v) {
    buf.insert(buf.end(), v.begin(), v.end());
    return *this;
  }
  Bytes& pad4() {
    while (buf.size() % 4 != 0) buf.push_back(0);
    return *this;
  }
  bool big_endian() const { return big_endian_; }
  std::vector<uint8_t> buf;

 private:
  Bytes& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      const int shift = big_endian_ ? 8 * (n - 1 - i) : 8 * i;
      buf.push_back(static_cast<uint8_t>(v >> shift));
    }
    return *this;
  }
  bool big_endian_;
};

void put_le32(std::vector<uint8_t>& buf, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    buf[offset + i] = static_cast<uint8_t>(v >> 8 * i);
}

std::vector<uint8_t> payload(size_t len, uint8_t seed) {
  std::vector<uint8_t> p(len);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(seed + i * 7);
  return p;
}

// --- pcap ---------------------------------------------------------------

void pcap_header(Bytes& b, uint32_t magic, uint32_t snaplen, uint32_t link) {
  b.u32(magic).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(link);
}
void pcap_record(Bytes& b, uint32_t sec, uint32_t frac,
                 const std::vector<uint8_t>& data, uint32_t wire_len) {
  b.u32(sec).u32(frac).u32(static_cast<uint32_t>(data.size())).u32(wire_len);
  b.raw(data);
}

// --- pcapng -------------------------------------------------------------

void block(Bytes& out, uint32_t type, const Bytes& body) {
  const uint32_t len =
      static_cast<uint32_t>(12 + (body.buf.size() + 3) / 4 * 4);
  out.u32(type).u32(len).raw(body.buf).pad4().u32(len);
}
void shb(Bytes& out) {
  Bytes body(out.big_endian());
  body.u32(0x1A2B3C4D).u16(1).u16(0).u64(~uint64_t{0});
  block(out, 0x0A0D0D0A, body);
}
// tsresol < 0: no option (default microseconds).
void idb(Bytes& out, uint16_t link, uint32_t snaplen, int tsresol = -1,
         int64_t tsoffset = 0) {
  Bytes body(out.big_endian());
  body.u16(link).u16(0).u32(snaplen);
  if (tsresol >= 0) body.u16(9).u16(1).u8(static_cast<uint8_t>(tsresol)).pad4();
  if (tsoffset != 0) body.u16(14).u16(8).u64(static_cast<uint64_t>(tsoffset));
  body.u16(0).u16(0);
  block(out, 1, body);
}
void epb(Bytes& out, uint32_t if_id, uint64_t ts_units,
         const std::vector<uint8_t>& data, uint32_t wire_len) {
  Bytes body(out.big_endian());
  body.u32(if_id).u32(static_cast<uint32_t>(ts_units >> 32));
  body.u32(static_cast<uint32_t>(ts_units));
  body.u32(static_cast<uint32_t>(data.size())).u32(wire_len).raw(data).pad4();
  block(out, 6, body);
}
void spb(Bytes& out, uint32_t orig_len, const std::vector<uint8_t>& data) {
  Bytes body(out.big_endian());
  body.u32(orig_len).raw(data);
  block(out, 3, body);
}
void opaque_block(Bytes& out, uint32_t type, size_t body_len) {
  Bytes body(out.big_endian());
  body.raw(payload(body_len, 0x55));
  block(out, type, body);
}

// --- files --------------------------------------------------------------

class CaptureFileTest : public ::testing::Test {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/capture_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string write_file(const std::string& name,
                         const std::vector<uint8_t>& bytes) {
    const std::string path = dir_ + "/" + name;
    // Unlink rather than truncate: ext4 flushes a truncated-and-rewritten
    // file on close (auto_da_alloc), which made the fuzz loops 50x slower.
    if (unlink(path.c_str()) != 0) files_.push_back(path);
    FILE* f = fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    if (!bytes.empty()) fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
    return path;
  }
  std::string path(const std::string& name) {
    files_.push_back(dir_ + "/" + name);
    return files_.back();
  }
  std::unique_ptr<CaptureReader> open(const std::string& path) {
    std::string error;
    auto r = CaptureReader::open(path, &error);
    EXPECT_NE(r, nullptr) << error;
    return r;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

// Reads until a terminal status, in bursts of `burst`; fails the test if the
// reader neither progresses nor stops.
std::vector<CaptureRecord> read_all(CaptureReader& r, size_t burst = 32) {
  std::vector<CaptureRecord> all;
  std::vector<CaptureRecord> buf(burst);
  for (int guard = 0; guard < 1000000; ++guard) {
    const size_t n = r.read_burst(buf.data(), burst);
    all.insert(all.end(), buf.begin(), buf.begin() + n);
    if (n < burst) {
      EXPECT_NE(r.status(), Status::kOk);
      return all;
    }
  }
  ADD_FAILURE() << "reader did not terminate";
  return all;
}

std::vector<uint8_t> bytes_of(const CaptureRecord& rec) {
  return std::vector<uint8_t>(rec.data, rec.data + rec.caplen);
}

// --- classic pcap -------------------------------------------------------

struct PcapVariant {
  uint32_t magic;
  bool big_endian;
};

class PcapVariantTest : public CaptureFileTest,
                        public ::testing::WithParamInterface<PcapVariant> {};

TEST_P(PcapVariantTest, ReadsRecordsAndTimestamps) {
  const auto [magic, big_endian] = GetParam();
  const bool nsec = magic == 0xa1b23c4d;
  Bytes b(big_endian);
  pcap_header(b, magic, 65535, 1);
  pcap_record(b, 1700000000, 123456, payload(60, 1), 60);
  pcap_record(b, 1700000001, 999999, payload(0, 2), 0);
  pcap_record(b, 4294967295u, 7, payload(1514, 3), 9000);
  const std::string file = write_file("v.pcap", b.buf);

  auto r = open(file);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->is_pcapng());
  EXPECT_EQ(r->link_type(), 1);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(r->status(), Status::kEnd);
  EXPECT_EQ(r->error(), "");
  EXPECT_EQ(r->records_read(), 3u);
  EXPECT_EQ(r->byte_offset(), b.buf.size());

  const uint64_t unit = nsec ? 1 : 1000;
  EXPECT_EQ(recs[0].ts_ns, 1700000000ull * 1000000000 + 123456 * unit);
  EXPECT_EQ(recs[1].ts_ns, 1700000001ull * 1000000000 + 999999 * unit);
  EXPECT_EQ(recs[2].ts_ns, 4294967295ull * 1000000000 + 7 * unit);
  EXPECT_EQ(bytes_of(recs[0]), payload(60, 1));
  EXPECT_EQ(recs[1].caplen, 0u);
  EXPECT_EQ(bytes_of(recs[2]), payload(1514, 3));
  EXPECT_EQ(recs[2].wire_len, 9000u);
  for (const auto& rec : recs) EXPECT_EQ(rec.link_type, 1);
}

INSTANTIATE_TEST_SUITE_P(
    AllMagics, PcapVariantTest,
    ::testing::Values(PcapVariant{0xa1b2c3d4, false},
                      PcapVariant{0xa1b2c3d4, true},
                      PcapVariant{0xa1b23c4d, false},
                      PcapVariant{0xa1b23c4d, true}),
    [](const auto& info) {
      return std::string(info.param.magic == 0xa1b23c4d ? "Nsec" : "Usec") +
             (info.param.big_endian ? "BigEndian" : "LittleEndian");
    });

TEST_F(CaptureFileTest, PcapLinkTypeIgnoresFcsBitsAndCaplenAboveWireLen) {
  Bytes b;
  pcap_header(b, 0xa1b2c3d4, 64, 0x10000000 | 101);  // F bit set, raw IP
  pcap_record(b, 1, 0, payload(100, 1), 40);  // caplen > snaplen, > wire_len
  auto r = open(write_file("lenient.pcap", b.buf));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), 101);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].caplen, 100u);
  EXPECT_EQ(recs[0].wire_len, 100u);
  EXPECT_EQ(recs[0].link_type, 101);
  EXPECT_EQ(r->status(), Status::kEnd);
}

TEST_F(CaptureFileTest, PcapCaplenAboveMaximumIsCorrupt) {
  Bytes b;
  pcap_header(b, 0xa1b2c3d4, 65535, 1);
  pcap_record(b, 1, 0, payload(10, 1), 10);
  const size_t bad_offset = b.buf.size();
  b.u32(2).u32(0).u32(kMaxCaptureSnaplen + 1).u32(kMaxCaptureSnaplen + 1);
  b.raw(std::vector<uint8_t>(kMaxCaptureSnaplen + 1));
  auto r = open(write_file("huge.pcap", b.buf));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(read_all(*r).size(), 1u);
  EXPECT_EQ(r->status(), Status::kCorrupt);
  EXPECT_EQ(r->byte_offset(), bad_offset);
  EXPECT_NE(
      r->error().find("record 2 at byte offset " + std::to_string(bad_offset)),
      std::string::npos)
      << r->error();
}

TEST_F(CaptureFileTest, PcapTruncatedBodyReturnsEarlierRecords) {
  Bytes b;
  pcap_header(b, 0xa1b2c3d4, 65535, 1);
  pcap_record(b, 1, 0, payload(60, 1), 60);
  pcap_record(b, 2, 0, payload(60, 2), 60);
  const size_t cut_record = b.buf.size();
  pcap_record(b, 3, 0, payload(1514, 3), 1514);
  b.buf.resize(cut_record + 16 + 300);
  const std::string file = write_file("cut_body.pcap", b.buf);

  auto r = open(file);
  ASSERT_NE(r, nullptr);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(bytes_of(recs[1]), payload(60, 2));
  EXPECT_EQ(r->status(), Status::kTruncated);
  EXPECT_EQ(r->records_read(), 2u);
  EXPECT_EQ(r->byte_offset(), cut_record);
  EXPECT_EQ(r->error(), file + ": truncated: record 3 at byte offset " +
                            std::to_string(cut_record) +
                            " needs 1530 bytes (16-byte header + 1514 "
                            "captured), 316 remain");
  CaptureRecord rec;
  EXPECT_EQ(r->read_burst(&rec, 1), 0u);  // terminal
  EXPECT_EQ(r->status(), Status::kTruncated);
}

TEST_F(CaptureFileTest, PcapTruncatedRecordHeader) {
  Bytes b;
  pcap_header(b, 0xa1b2c3d4, 65535, 1);
  pcap_record(b, 1, 0, payload(60, 1), 60);
  pcap_record(b, 2, 0, payload(61, 2), 61);
  const size_t cut_record = b.buf.size();
  b.u32(3).u32(0).u32(0);  // 12 of 16 header bytes
  const std::string file = write_file("cut_header.pcap", b.buf);
  auto r = open(file);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(read_all(*r, 1).size(), 2u);
  EXPECT_EQ(r->status(), Status::kTruncated);
  EXPECT_EQ(r->byte_offset(), cut_record);
  EXPECT_NE(
      r->error().find("record 3 at byte offset " + std::to_string(cut_record) +
                      " needs a 16-byte header, 12 remain"),
      std::string::npos)
      << r->error();
}

// --- pcapng -------------------------------------------------------------

TEST_F(CaptureFileTest, PcapngInterfacesResolutionsSkippedBlocksAndSpb) {
  Bytes b;
  shb(b);
  opaque_block(b, 0x00000BAD, 13);  // unknown type before any IDB
  idb(b, 1, 65535);                 // if 0: Ethernet, default usec
  idb(b, 101, 0, 9);                // if 1: raw IP, nanoseconds
  opaque_block(b, 4, 8);            // Name Resolution Block
  idb(b, 113, 128, 0x80 | 10, -3);  // if 2: SLL, 2^-10 s, offset -3 s
  epb(b, 0, 1700000000123456ull, payload(60, 1), 60);
  opaque_block(b, 5, 24);  // Interface Statistics Block
  epb(b, 1, 1700000000123456789ull, payload(41, 2), 41);
  epb(b, 2, (uint64_t{1700000005} << 10) | 512, payload(128, 3), 1500);
  spb(b, 70, payload(70, 4));      // interface 0, no timestamp
  opaque_block(b, 0x80000001, 0);  // custom block, empty body
  const std::string file = write_file("multi.pcapng", b.buf);

  auto r = open(file);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->is_pcapng());
  EXPECT_EQ(r->link_type(), 1);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(r->status(), Status::kEnd) << r->error();
  EXPECT_EQ(r->byte_offset(), b.buf.size());

  EXPECT_EQ(recs[0].ts_ns, 1700000000123456000ull);
  EXPECT_EQ(recs[0].link_type, 1);
  EXPECT_EQ(bytes_of(recs[0]), payload(60, 1));

  EXPECT_EQ(recs[1].ts_ns, 1700000000123456789ull);
  EXPECT_EQ(recs[1].link_type, 101);
  EXPECT_EQ(bytes_of(recs[1]), payload(41, 2));  // padding not included

  EXPECT_EQ(recs[2].ts_ns, 1700000002500000000ull);  // 5.5 s - 3 s
  EXPECT_EQ(recs[2].link_type, 113);
  EXPECT_EQ(recs[2].caplen, 128u);
  EXPECT_EQ(recs[2].wire_len, 1500u);

  EXPECT_EQ(recs[3].ts_ns, recs[2].ts_ns);  // SPB: previous timestamp
  EXPECT_EQ(recs[3].link_type, 1);
  EXPECT_EQ(bytes_of(recs[3]), payload(70, 4));
  EXPECT_EQ(recs[3].wire_len, 70u);
}

TEST_F(CaptureFileTest, PcapngFineResolutionDivides) {
  Bytes b;
  shb(b);
  idb(b, 1, 0, 12);  // picoseconds
  epb(b, 0, 1700000000123456789ull, payload(10, 1), 10);
  auto r = open(write_file("ps.pcapng", b.buf));
  ASSERT_NE(r, nullptr);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].ts_ns, 1700000000123456ull);
}

TEST_F(CaptureFileTest, PcapngSpbCaplenFromSnaplenAndOriginalLength) {
  Bytes b;
  shb(b);
  idb(b, 1, 6);
  spb(b, 5, payload(5, 1));   // body padded to 8: caplen is orig_len
  spb(b, 10, payload(6, 2));  // cut by snaplen 6 (body padded to 8)
  auto r = open(write_file("spb.pcapng", b.buf));
  ASSERT_NE(r, nullptr);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(bytes_of(recs[0]), payload(5, 1));
  EXPECT_EQ(recs[0].ts_ns, 0u);  // no earlier timestamp
  EXPECT_EQ(bytes_of(recs[1]), payload(6, 2));
  EXPECT_EQ(recs[1].wire_len, 10u);
}

TEST_F(CaptureFileTest, PcapngSectionsSwitchByteOrderAndInterfaces) {
  Bytes le;
  shb(le);
  idb(le, 1, 0);
  idb(le, 113, 0, 9);
  epb(le, 1, 5, payload(20, 1), 20);
  Bytes be(true);
  shb(be);
  idb(be, 101, 0, 9);
  epb(be, 0, 7, payload(30, 2), 30);
  le.raw(be.buf);
  auto r = open(write_file("sections.pcapng", le.buf));
  ASSERT_NE(r, nullptr);
  const auto recs = read_all(*r);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(r->status(), Status::kEnd) << r->error();
  EXPECT_EQ(recs[0].link_type, 113);
  EXPECT_EQ(recs[0].ts_ns, 5u);
  EXPECT_EQ(recs[1].link_type, 101);
  EXPECT_EQ(recs[1].ts_ns, 7u);
  EXPECT_EQ(bytes_of(recs[1]), payload(30, 2));
}

TEST_F(CaptureFileTest, PcapngInterfaceIdsDoNotCarryAcrossSections) {
  Bytes b;
  shb(b);
  idb(b, 1, 0);
  idb(b, 1, 0);
  epb(b, 1, 5, payload(20, 1), 20);
  shb(b);
  idb(b, 1, 0);
  const size_t bad_offset = b.buf.size();
  epb(b, 1, 6, payload(20, 2), 20);  // only interface 0 in this section
  const std::string file = write_file("ids.pcapng", b.buf);
  auto r = open(file);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(read_all(*r).size(), 1u);
  EXPECT_EQ(r->status(), Status::kCorrupt);
  EXPECT_EQ(r->byte_offset(), bad_offset);
  EXPECT_EQ(r->error(), file + ": corrupt: record 2 at byte offset " +
                            std::to_string(bad_offset) +
                            ": interface 1 not defined (1 in section)");
}

TEST_F(CaptureFileTest, PcapngLinkTypeKnownBeforeReading) {
  Bytes b(true);
  shb(b);
  opaque_block(b, 0x00000BAD, 40);
  idb(b, 113, 0);
  idb(b, 1, 0);
  auto r = open(write_file("lt.pcapng", b.buf));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), 113);
  EXPECT_EQ(read_all(*r).size(), 0u);
  EXPECT_EQ(r->status(), Status::kEnd);
}

TEST_F(CaptureFileTest, PcapngBadBlockLengthIsCorrupt) {
  struct Case {
    const char* name;
    uint32_t length;
    uint32_t trailing;
  };
  for (const Case c :
       {Case{"below 12", 8, 8}, Case{"not multiple of 4", 30, 30},
        Case{"trailing differs", 36, 40}}) {
    SCOPED_TRACE(c.name);
    Bytes b;
    shb(b);
    idb(b, 1, 0);
    epb(b, 0, 1, payload(4, 1), 4);
    const size_t bad_offset = b.buf.size();
    epb(b, 0, 2, payload(4, 2), 4);  // 36 bytes: rewrite its lengths
    put_le32(b.buf, bad_offset + 4, c.length);
    put_le32(b.buf, bad_offset + 32, c.trailing);
    epb(b, 0, 3, payload(4, 3), 4);
    auto r = open(write_file("badlen.pcapng", b.buf));
    ASSERT_NE(r, nullptr);
    const auto recs = read_all(*r);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(bytes_of(recs[0]), payload(4, 1));
    EXPECT_EQ(r->status(), Status::kCorrupt);
    EXPECT_EQ(r->byte_offset(), bad_offset);
    EXPECT_NE(r->error().find("record 2 at byte offset " +
                              std::to_string(bad_offset)),
              std::string::npos)
        << r->error();
  }
}

TEST_F(CaptureFileTest, PcapngCaplenOverrunningBlockIsCorrupt) {
  Bytes b;
  shb(b);
  idb(b, 1, 0);
  const size_t bad_offset = b.buf.size();
  epb(b, 0, 1, payload(8, 1), 8);
  put_le32(b.buf, bad_offset + 8 + 12, 12);  // block holds only 8 data bytes
  auto r = open(write_file("overrun.pcapng", b.buf));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(read_all(*r).size(), 0u);
  EXPECT_EQ(r->status(), Status::kCorrupt);
  EXPECT_NE(r->error().find("overruns"), std::string::npos) << r->error();
}

TEST_F(CaptureFileTest, PcapngUnsupportedResolutionIsCorrupt) {
  Bytes b;
  shb(b);
  idb(b, 1, 0, 20);  // 10^-20 s: finer than 64 bits can span
  auto r = open(write_file("res.pcapng", b.buf));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(read_all(*r).size(), 0u);
  EXPECT_EQ(r->status(), Status::kCorrupt);
  EXPECT_NE(r->error().find("if_tsresol"), std::string::npos) << r->error();
}

TEST_F(CaptureFileTest, PcapngTruncatedBlock) {
  Bytes b;
  shb(b);
  idb(b, 1, 0);
  epb(b, 0, 1, payload(60, 1), 60);
  const size_t cut_offset = b.buf.size();
  epb(b, 0, 2, payload(60, 2), 60);
  b.buf.resize(cut_offset + 40);
  const std::string file = write_file("cut.pcapng", b.buf);
  auto r = open(file);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(read_all(*r).size(), 1u);
  EXPECT_EQ(r->status(), Status::kTruncated);
  EXPECT_EQ(r->byte_offset(), cut_offset);
  EXPECT_EQ(r->error(), file + ": truncated: record 2 at byte offset " +
                            std::to_string(cut_offset) +
                            " needs 92 bytes, 40 remain");
}

// --- open failures and empty files --------------------------------------

TEST_F(CaptureFileTest, OpenFailuresNameThePath) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* message;
  };
  Bytes partial;
  pcap_header(partial, 0xa1b2c3d4, 65535, 1);
  partial.buf.resize(10);
  Bytes partial_shb;
  shb(partial_shb);
  partial_shb.buf.resize(20);
  const std::string text = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
  const Case cases[] = {
      {"empty", {}, "empty file (0 bytes)"},
      {"tiny", {0xd4, 0xc3}, "file too short (2 bytes)"},
      {"partial_header", partial.buf,
       "truncated pcap global header: 10 of 24 bytes"},
      {"partial_shb", partial_shb.buf, "truncated pcapng section header"},
      {"garbage", std::vector<uint8_t>(text.begin(), text.end()),
       "not a pcap or pcapng file (magic 0x47455420)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = write_file(c.name, c.bytes);
    std::string error;
    EXPECT_EQ(CaptureReader::open(file, &error), nullptr);
    EXPECT_EQ(error.rfind(file + ": ", 0), 0u) << error;
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
  }
  std::string error;
  EXPECT_EQ(CaptureReader::open(dir_ + "/missing.pcap", &error), nullptr);
  EXPECT_EQ(error, dir_ + "/missing.pcap: " + std::strerror(ENOENT));
  EXPECT_EQ(CaptureReader::open(dir_, &error), nullptr);
  EXPECT_EQ(error, dir_ + ": is a directory");
}

TEST_F(CaptureFileTest, HeaderOnlyFilesEndWithNoRecords) {
  Bytes pcap(true);
  pcap_header(pcap, 0xa1b23c4d, 65535, 101);
  Bytes pcapng;
  shb(pcapng);
  for (const auto& bytes : {pcap.buf, pcapng.buf}) {
    auto r = open(write_file("header_only", bytes));
    ASSERT_NE(r, nullptr);
    CaptureRecord rec;
    EXPECT_EQ(r->read_burst(&rec, 1), 0u);
    EXPECT_EQ(r->status(), Status::kEnd);
    EXPECT_EQ(r->records_read(), 0u);
    EXPECT_EQ(r->error(), "");
  }
}

// --- writer -------------------------------------------------------------

TEST_F(CaptureFileTest, WriterRoundTrip) {
  const std::string file = path("round.pcap");
  std::mt19937 rng(7);
  struct Written {
    std::vector<uint8_t> data;
    uint32_t wire_len;
    uint64_t ts_ns;
  };
  std::vector<Written> written;
  {
    std::string error;
    auto w = CaptureWriter::open(file, 113, &error);
    ASSERT_NE(w, nullptr) << error;
    uint64_t ts = 1700000000000000000ull;
    // Enough bytes (~8 MB) to cross the 1 MiB buffer several times.
    for (int i = 0; i < 10000; ++i) {
      Written rec;
      rec.data = payload(rng() % 1600, static_cast<uint8_t>(i));
      rec.wire_len = static_cast<uint32_t>(rec.data.size()) + rng() % 3;
      rec.ts_ns = ts += rng() % 2000000000;
      ASSERT_TRUE(w->write(rec.data.data(),
                           static_cast<uint32_t>(rec.data.size()), rec.wire_len,
                           rec.ts_ns));
      written.push_back(rec);
    }
    // Rejected records leave the writer usable and write nothing.
    std::vector<uint8_t> big(kMaxCaptureSnaplen + 1);
    EXPECT_FALSE(w->write(big.data(), kMaxCaptureSnaplen + 1,
                          kMaxCaptureSnaplen + 1, 0));
    EXPECT_NE(w->error().find("caplen 262145"), std::string::npos);
    EXPECT_FALSE(w->write(big.data(), 1, 1, (uint64_t{1} << 32) * 1000000000));
    // wire_len below caplen is raised; timestamps are nanosecond exact.
    EXPECT_TRUE(w->write(big.data(), kMaxCaptureSnaplen, 5, 1));
    written.push_back({big, kMaxCaptureSnaplen, 1});
    written.back().data.resize(kMaxCaptureSnaplen);
    EXPECT_TRUE(w->flush());
    EXPECT_EQ(w->records_written(), 10001u);  // what reached the file
    EXPECT_EQ(w->records_rejected(), 2u);
    EXPECT_EQ(w->records_lost(), 0u);
  }
  auto r = open(file);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), 113);
  const auto recs = read_all(*r, 32);
  EXPECT_EQ(r->status(), Status::kEnd) << r->error();
  ASSERT_EQ(recs.size(), written.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    ASSERT_EQ(bytes_of(recs[i]), written[i].data) << i;
    ASSERT_EQ(recs[i].wire_len, written[i].wire_len) << i;
    ASSERT_EQ(recs[i].ts_ns, written[i].ts_ns) << i;
    ASSERT_EQ(recs[i].link_type, 113) << i;
  }
}

TEST_F(CaptureFileTest, BurstsAreFullUntilTheEnd) {
  const std::string file = path("bursts.pcap");
  {
    std::string error;
    auto w = CaptureWriter::open(file, 1, &error);
    ASSERT_NE(w, nullptr) << error;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(w->write(nullptr, 0, 60, i));
  }  // destructor flushes
  auto r = open(file);
  ASSERT_NE(r, nullptr);
  CaptureRecord out[32];
  for (size_t expect : {32, 32, 32}) {
    EXPECT_EQ(r->read_burst(out, 32), expect);
    EXPECT_EQ(r->status(), Status::kOk);
  }
  EXPECT_EQ(r->read_burst(out, 32), 4u);
  EXPECT_EQ(r->status(), Status::kEnd);
  EXPECT_EQ(out[3].ts_ns, 99u);
  EXPECT_EQ(r->read_burst(out, 32), 0u);
  EXPECT_EQ(r->records_read(), 100u);
}

TEST_F(CaptureFileTest, WriterOpenFailures) {
  std::string error;
  // Missing folders are made; a file where a folder should be is an error.
  const std::string nested = dir_ + "/new/sub/dir.pcap";
  EXPECT_NE(CaptureWriter::open(nested, 1, &error), nullptr) << error;
  EXPECT_TRUE(std::filesystem::exists(nested));
  const std::string bad = nested + "/x.pcap";
  EXPECT_EQ(CaptureWriter::open(bad, 1, &error), nullptr);
  EXPECT_EQ(error, bad + ": " + nested + " is not a folder");
  if (access("/dev/full", W_OK) == 0) {  // write(2) fails with ENOSPC
    EXPECT_EQ(CaptureWriter::open("/dev/full", 1, &error), nullptr);
    EXPECT_EQ(error, std::string("/dev/full: write: ") + std::strerror(ENOSPC));
  }
}

// --- fuzz ---------------------------------------------------------------

// Reads `bytes` as a file and checks the reader's invariants: open fails
// with a message, or reading ends in a terminal status with every record
// inside the file. Files are smaller than a page, so the (page-aligned)
// mapping starts at the first record's page.
void check_survives(CaptureFileTest& t, const std::vector<uint8_t>& bytes,
                    const std::string& name) {
  ASSERT_LT(bytes.size(), static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  const std::string file = t.write_file(name, bytes);
  std::string error;
  auto r = CaptureReader::open(file, &error);
  if (r == nullptr) {
    EXPECT_FALSE(error.empty());
    return;
  }
  const auto recs = read_all(*r, 7);
  EXPECT_NE(r->status(), Status::kOk);
  EXPECT_EQ(r->error().empty(), r->status() == Status::kEnd) << r->error();
  EXPECT_LE(r->byte_offset(), bytes.size());
  EXPECT_EQ(r->records_read(), recs.size());
  if (recs.empty()) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uint8_t* base = reinterpret_cast<const uint8_t*>(
      reinterpret_cast<uintptr_t>(recs[0].data) & ~(page - 1));
  for (const auto& rec : recs) {
    ASSERT_GE(rec.data, base);
    ASSERT_LE(rec.data + rec.caplen, base + bytes.size());
    ASSERT_GE(rec.wire_len, rec.caplen);
    ASSERT_EQ(
        std::memcmp(rec.data, bytes.data() + (rec.data - base), rec.caplen), 0);
  }
}

std::vector<uint8_t> fuzz_seed_pcap() {
  Bytes b;
  pcap_header(b, 0xa1b2c3d4, 65535, 1);
  for (int i = 0; i < 5; ++i) pcap_record(b, i, i, payload(20 + i * 9, i), 90);
  return b.buf;
}

std::vector<uint8_t> fuzz_seed_pcapng() {
  Bytes b;
  shb(b);
  idb(b, 1, 64, 9, 10);
  opaque_block(b, 0x00000BAD, 6);
  idb(b, 101, 0, 0x80 | 20);
  epb(b, 0, 1, payload(33, 1), 40);
  epb(b, 1, 2, payload(12, 2), 12);
  spb(b, 50, payload(50, 3));
  Bytes be(true);
  shb(be);
  idb(be, 113, 0);
  epb(be, 0, 3, payload(17, 4), 17);
  b.raw(be.buf);
  return b.buf;
}

TEST_F(CaptureFileTest, FuzzTruncationAtEveryLength) {
  for (const auto& seed : {fuzz_seed_pcap(), fuzz_seed_pcapng()}) {
    // Reference: the whole file reads cleanly.
    auto full = open(write_file("seed", seed));
    ASSERT_NE(full, nullptr);
    const auto all = read_all(*full);
    ASSERT_EQ(full->status(), Status::kEnd) << full->error();
    for (size_t len = 0; len < seed.size(); ++len) {
      SCOPED_TRACE(len);
      const std::vector<uint8_t> cut(seed.begin(), seed.begin() + len);
      check_survives(*this, cut, "cut");
      std::string error;
      auto r = CaptureReader::open(dir_ + "/cut", &error);
      if (r == nullptr) continue;
      // A prefix yields a prefix of the records, then kTruncated (or kEnd
      // when cut exactly between records).
      const auto recs = read_all(*r);
      ASSERT_LE(recs.size(), all.size());
      for (size_t i = 0; i < recs.size(); ++i) {
        EXPECT_EQ(bytes_of(recs[i]), bytes_of(all[i]));
        EXPECT_EQ(recs[i].ts_ns, all[i].ts_ns);
      }
      EXPECT_TRUE(r->status() == Status::kTruncated ||
                  r->status() == Status::kEnd);
    }
  }
}

TEST_F(CaptureFileTest, FuzzRandomByteFlips) {
  std::mt19937 rng(12345);
  int opened = 0;
  for (const auto& seed : {fuzz_seed_pcap(), fuzz_seed_pcapng()}) {
    for (int iter = 0; iter < 3000; ++iter) {
      std::vector<uint8_t> bytes = seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        // Leave the magic alone half the time so most runs get past open().
        const size_t lo = iter % 2 == 0 ? 4 : 0;
        bytes[lo + rng() % (bytes.size() - lo)] = static_cast<uint8_t>(rng());
      }
      SCOPED_TRACE(iter);
      check_survives(*this, bytes, "flip");
      std::string error;
      opened += CaptureReader::open(dir_ + "/flip", &error) != nullptr;
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(opened, 3000);  // the flips exercised the readers, not open()
}

// --- streams (pipes, FIFOs, standard input) ------------------------------

// A record read from a stream, copied: its bytes last one burst.
struct Copied {
  std::vector<uint8_t> bytes;
  uint32_t wire_len;
  uint64_t ts_ns;
  uint16_t link_type;
  bool operator==(const Copied&) const = default;
};

struct Outcome {
  bool opened = false;
  std::vector<Copied> records;
  Status status = Status::kOk;
  std::string error;  // with the path replaced by "<in>"
  uint64_t byte_offset = 0;
  bool operator==(const Outcome&) const = default;
};

std::string without(std::string s, const std::string& path) {
  if (s.compare(0, path.size(), path) == 0) s = "<in>" + s.substr(path.size());
  return s;
}

// Reads a whole capture in bursts of `burst`, copying every record.
Outcome read_outcome(const std::string& path, size_t burst) {
  Outcome o;
  std::string error;
  auto r = CaptureReader::open(path, &error);
  if (r == nullptr) return o;
  o.opened = true;
  std::vector<CaptureRecord> buf(burst);
  for (int guard = 0; guard < 100000 && r->status() == Status::kOk; ++guard) {
    const size_t n = r->read_burst(buf.data(), burst, 20);
    for (size_t i = 0; i < n; ++i) {
      o.records.push_back(Copied{bytes_of(buf[i]), buf[i].wire_len, buf[i].ts_ns, buf[i].link_type});
    }
  }
  EXPECT_NE(r->status(), Status::kOk) << "the reader did not end";
  o.status = r->status();
  o.error = without(r->error(), path);
  o.byte_offset = r->byte_offset();
  EXPECT_EQ(r->records_read(), o.records.size());
  return o;
}

// Feeds `bytes` into a FIFO in chunks of 1..max_chunk bytes, pausing now
// and then, so that records and blocks arrive split at every kind of place.
class FifoFeeder {
 public:
  FifoFeeder(const std::string& fifo, const std::vector<uint8_t>& bytes, size_t max_chunk,
             uint32_t seed)
      : thread_([=] {
          const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
          if (fd < 0) return;
          std::mt19937 rng(seed);
          for (size_t off = 0; off < bytes.size();) {
            const size_t n = std::min<size_t>(bytes.size() - off, 1 + rng() % max_chunk);
            const ssize_t w = ::write(fd, bytes.data() + off, n);
            if (w <= 0) break;  // the reader gave up (EPIPE)
            off += static_cast<size_t>(w);
            if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
          }
          ::close(fd);
        }) {}
  ~FifoFeeder() { thread_.join(); }

 private:
  std::thread thread_;
};

class CaptureStreamTest : public CaptureFileTest {
 public:
  void SetUp() override {
    CaptureFileTest::SetUp();
    signal(SIGPIPE, SIG_IGN);  // a reader that stops early must not kill the feeder
    fifo_ = path("fifo");
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0) << std::strerror(errno);
  }
  // The same capture read from a file and from the FIFO.
  void expect_same(const std::vector<uint8_t>& bytes, size_t max_chunk, uint32_t seed, size_t burst = 7) {
    const std::string file = write_file("mapped", bytes);
    const Outcome mapped = read_outcome(file, burst);
    Outcome streamed;
    {
      FifoFeeder feeder(fifo_, bytes, max_chunk, seed);
      streamed = read_outcome(fifo_, burst);
      if (!streamed.opened) {  // let the feeder finish: drain what it writes
        const int fd = ::open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
      }
    }
    EXPECT_EQ(streamed.opened, mapped.opened);
    EXPECT_EQ(streamed.records.size(), mapped.records.size());
    EXPECT_TRUE(streamed.records == mapped.records);
    EXPECT_EQ(streamed.status, mapped.status);
    EXPECT_EQ(streamed.error, without(mapped.error, file));
    EXPECT_EQ(streamed.byte_offset, mapped.byte_offset);
  }
  std::string fifo_;
};

TEST_F(CaptureStreamTest, SplitAnywhereReadsLikeTheFile) {
  uint32_t seed = 1;
  for (const auto& bytes : {fuzz_seed_pcap(), fuzz_seed_pcapng()}) {
    for (size_t max_chunk : {1, 5, 64, 4096}) {
      SCOPED_TRACE(max_chunk);
      expect_same(bytes, max_chunk, seed++);
    }
    // Every prefix: the stream ends where the file would.
    for (size_t len = 30; len < bytes.size(); len += 7) {
      SCOPED_TRACE(len);
      expect_same(std::vector<uint8_t>(bytes.begin(), bytes.begin() + len), 16, seed++);
      if (HasFailure()) return;
    }
  }
}

TEST_F(CaptureStreamTest, CorruptInputFailsLikeTheFile) {
  std::mt19937 rng(777);
  for (const auto& seed : {fuzz_seed_pcap(), fuzz_seed_pcapng()}) {
    for (int iter = 0; iter < 150; ++iter) {
      std::vector<uint8_t> bytes = seed;
      for (int i = 0; i < 2; ++i) bytes[4 + rng() % (bytes.size() - 4)] = static_cast<uint8_t>(rng());
      SCOPED_TRACE(iter);
      expect_same(bytes, 1 + rng() % 40, static_cast<uint32_t>(rng()));
      if (HasFailure()) return;
    }
  }
}

TEST_F(CaptureStreamTest, LongStreamRefillsItsBuffer) {
  // 6 MB of pcap: the 1 MiB buffer is refilled many times, records split
  // across refills.
  Bytes b;
  pcap_header(b, 0xa1b23c4d, 65535, 1);
  for (uint32_t i = 0; i < 6000; ++i) pcap_record(b, i, i, payload(40 + (i * 37) % 1460, static_cast<uint8_t>(i)), 1500);
  expect_same(b.buf, 70000, 9, 32);
}

TEST_F(CaptureStreamTest, BlockLargerThanTheBufferGrowsIt) {
  Bytes b;
  shb(b);
  idb(b, 1, 0);
  epb(b, 0, 1, payload(60, 1), 60);
  opaque_block(b, 0x00000BAD, 3 << 20);  // 3 MiB: the buffer doubles twice
  epb(b, 0, 2, payload(61, 2), 61);
  expect_same(b.buf, 100000, 3);
}

TEST_F(CaptureStreamTest, LargeFirstSectionHeaderAndLookahead) {
  // A first SHB of 1.5 MiB (the buffer grows in open()), then a 1.5 MiB
  // block before the first IDB: the link type is known before reading, as
  // for the file.
  Bytes b;
  Bytes body;
  body.u32(0x1A2B3C4D).u16(1).u16(0).u64(~uint64_t{0}).raw(payload(3 << 19, 9));
  block(b, 0x0A0D0D0A, body);
  opaque_block(b, 0x00000BAD, 3 << 19);
  idb(b, 101, 0);
  epb(b, 0, 1, payload(60, 1), 60);
  expect_same(b.buf, 1 << 16, 5);
  FifoFeeder feeder(fifo_, b.buf, 1 << 16, 6);
  std::string error;
  auto r = CaptureReader::open(fifo_, &error);
  ASSERT_NE(r, nullptr) << error;
  EXPECT_EQ(r->link_type(), 101);
  CaptureRecord out[4];
  size_t n = 0;
  for (int i = 0; i < 1000 && r->status() == Status::kOk; ++i) n += r->read_burst(out, 4, 50);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(r->status(), Status::kEnd);
}

TEST_F(CaptureStreamTest, ANonBlockingStandardInputIsWaitedForNotSpunOn) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);
  const int saved = dup(0);
  ASSERT_EQ(dup2(fds[0], 0), 0);
  ::close(fds[0]);
  const std::vector<uint8_t> bytes = fuzz_seed_pcap();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fds[1]);
  });
  timespec cpu0, cpu1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
  std::string error;
  auto r = CaptureReader::open("-", &error);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
  writer.join();
  dup2(saved, 0);
  ::close(saved);
  ASSERT_NE(r, nullptr) << error;
  const double cpu_ms = (cpu1.tv_sec - cpu0.tv_sec) * 1e3 + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
  EXPECT_LT(cpu_ms, 100.0) << "open() spun while the header was 300 ms away";
  EXPECT_EQ(read_all(*r).size(), 5u);
}

std::atomic<bool> g_give_up{false};
void on_test_signal(int) {}

TEST_F(CaptureStreamTest, ASignalEndsTheWaitForAHeaderOnlyWhenAskedTo) {
  struct sigaction sa{}, old{};
  sa.sa_handler = on_test_signal;  // no SA_RESTART: the wait sees EINTR
  sigaction(SIGUSR2, &sa, &old);
  const pthread_t self = pthread_self();
  // The writer opens the FIFO and sends nothing until told.
  std::atomic<bool> send{false};
  const std::vector<uint8_t> bytes = fuzz_seed_pcap();
  std::thread writer([&] {
    const int fd = ::open(fifo_.c_str(), O_WRONLY | O_CLOEXEC);
    while (!send) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (write(fd, bytes.data(), bytes.size()) < 0) ADD_FAILURE();
    ::close(fd);
  });
  std::thread signaller([&] {
    g_give_up = false;
    for (int i = 0; i < 4; ++i) {  // SIGUSR1 or SIGHUP: the wait goes on
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      pthread_kill(self, SIGUSR2);
    }
    send = true;
  });
  std::string error;
  auto r = CaptureReader::open(fifo_, &error, [] { return g_give_up.load(); });
  signaller.join();
  writer.join();
  ASSERT_NE(r, nullptr) << error;
  EXPECT_EQ(read_all(*r).size(), 5u);

  // SIGINT: the wait is given up, and open() says so.
  send = false;
  std::thread writer2([&] {
    const int fd = ::open(fifo_.c_str(), O_WRONLY | O_CLOEXEC);
    while (!send) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::close(fd);
  });
  std::atomic<bool> opened{false};
  std::thread signaller2([&] {
    g_give_up = true;
    // Until open() returns: a signal that comes before its wait is lost.
    for (int i = 0; i < 200 && !opened; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!opened) pthread_kill(self, SIGUSR2);
    }
  });
  r = CaptureReader::open(fifo_, &error, [] { return g_give_up.load(); });
  opened = true;
  signaller2.join();
  send = true;
  writer2.join();
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(error, fifo_ + ": interrupted while waiting for the capture header");
  sigaction(SIGUSR2, &old, nullptr);
}

TEST_F(CaptureStreamTest, BlockOverTheStreamLimitIsCorrupt) {
  Bytes b;
  shb(b);
  idb(b, 1, 0);
  epb(b, 0, 1, payload(60, 1), 60);
  opaque_block(b, 0x00000BAD, 65u << 20);
  std::string error;
  FifoFeeder feeder(fifo_, b.buf, 1 << 20, 4);
  auto r = CaptureReader::open(fifo_, &error);
  ASSERT_NE(r, nullptr) << error;
  CaptureRecord out[8];
  size_t total = 0;
  // A pipe hands over 64 KiB at a time: a few thousand reads.
  for (int i = 0; i < 100000 && r->status() == Status::kOk; ++i) total += r->read_burst(out, 8, 50);
  EXPECT_EQ(total, 1u);
  EXPECT_EQ(r->status(), Status::kCorrupt);
  EXPECT_NE(r->error().find("over the 67108864 a stream is read in"), std::string::npos) << r->error();
  r.reset();  // closes the FIFO: the feeder's next write fails and it stops
}

TEST_F(CaptureStreamTest, ReturnsWhatHasArrivedAndWaits) {
  Bytes head;
  pcap_header(head, 0xa1b2c3d4, 65535, 1);
  for (uint32_t i = 0; i < 3; ++i) pcap_record(head, i, 0, payload(60, static_cast<uint8_t>(i)), 60);
  Bytes rest;
  for (uint32_t i = 3; i < 5; ++i) pcap_record(rest, i, 0, payload(60, static_cast<uint8_t>(i)), 60);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], head.buf.data(), head.buf.size()), static_cast<ssize_t>(head.buf.size()));
  std::string error;
  auto r = CaptureReader::open("/proc/self/fd/" + std::to_string(fds[0]), &error);
  ::close(fds[0]);
  ASSERT_NE(r, nullptr) << error;
  EXPECT_TRUE(r->is_stream());
  CaptureRecord out[32];
  EXPECT_EQ(r->read_burst(out, 32, 0), 3u);  // what is there, not a full burst
  EXPECT_EQ(r->status(), Status::kOk);
  EXPECT_EQ(out[2].ts_ns, 2'000'000'000u);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(r->read_burst(out, 32, 60), 0u);  // nothing more yet: waits, still kOk
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
  EXPECT_EQ(r->status(), Status::kOk);
  ASSERT_EQ(write(fds[1], rest.buf.data(), rest.buf.size()), static_cast<ssize_t>(rest.buf.size()));
  ::close(fds[1]);
  EXPECT_EQ(r->read_burst(out, 32, 1000), 2u);
  EXPECT_EQ(out[1].ts_ns, 4'000'000'000u);
  EXPECT_EQ(r->status(), Status::kEnd);
  EXPECT_EQ(r->byte_offset(), head.buf.size() + rest.buf.size());
}

TEST_F(CaptureStreamTest, EmptyAndShortInputsFailToOpen) {
  for (size_t len : {0, 3, 20}) {
    std::vector<uint8_t> bytes = fuzz_seed_pcap();
    bytes.resize(len);
    std::string error;
    FifoFeeder feeder(fifo_, bytes, 8, 1);
    EXPECT_EQ(CaptureReader::open(fifo_, &error), nullptr);
    EXPECT_EQ(error, fifo_ + (len == 0 ? ": empty input (no bytes before its end), not a pcap or pcapng capture"
                          : len == 3 ? ": input too short (3 bytes) for a capture header"
                                     : ": truncated pcap global header: 20 of 24 bytes"));
  }
}

TEST_F(CaptureFileTest, StandardInputFromAFileIsMapped) {
  const std::string file = write_file("stdin.pcap", fuzz_seed_pcap());
  const int saved = dup(0);
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(dup2(fd, 0), 0);
  ::close(fd);
  std::string error;
  auto r = CaptureReader::open("-", &error);
  dup2(saved, 0);
  ::close(saved);
  ASSERT_NE(r, nullptr) << error;
  EXPECT_FALSE(r->is_stream());
  EXPECT_EQ(read_all(*r).size(), 5u);
  EXPECT_EQ(r->status(), Status::kEnd);
}

}  // namespace
}  // namespace rstguard
