// An output file of whole records (event lines, pcap records): buffered,
// rotating, and honest about what reached the disk. Shared by the capture
// writer (-w, --flagged) and the events file. Main lcore only.
//
// What it promises:
//  - a record is on disk whole or not at all: when a write(2) fails part
//    way (a full disk), a regular file is truncated back to the end of the
//    last whole record;
//  - records_written() counts records that reached the file, not records
//    handed in; records_lost() those that never will;
//  - a wait for a reader (a FIFO with no reader, a full pipe) gives up when
//    the stop function says so: at once while opening, within a second
//    without progress while writing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rstguard {

// Output files that rotate: past max_bytes, FILE becomes FILE.1 ("x.pcap"
// becomes "x.1.pcap"), FILE.1 becomes FILE.2, and so on; the oldest of
// `files` is removed. max_bytes 0: never.
struct Rotation {
  uint64_t max_bytes = 0;
  uint32_t files = 5;
};
// The name of rotated file `index` (0: `path` itself).
std::string rotated_name(const std::string& path, uint32_t index);
// Shifts `path`, path.1, ... up by one, dropping the oldest of `files`.
// Missing files are skipped. False (and *error) if a rename fails.
bool shift_rotated(const std::string& path, uint32_t files, std::string* error);

// Creates the folders above `path` that are missing (mkdir -p of its
// parent). False (and *error naming the folder and the reason) on failure.
bool make_parent_dirs(const std::string& path, std::string* error);

// For an output written only at the end (or now and then): creates its
// folders and checks that the file can be created and written, so that a
// run does not find out at its end. Leaves an existing file as it was (a
// new one empty). False (and *error with the path and the reason).
bool check_output_path(const std::string& path, std::string* error);

struct OutFileOptions {
  Rotation rotation;
  // Written at the start of every file (a pcap global header); not a record.
  std::string header;
  // Polled while waiting for a reader; true gives the wait up.
  std::function<bool()> stop;
  // Called once if the open has to wait for a FIFO's reader.
  std::function<void()> waiting;
  size_t buffer_bytes = size_t{1} << 20;
};

class OutFile {
 public:
  // "-" is standard output (never rotated or closed). Missing folders are
  // created. An existing non-empty regular file is rotated away first when
  // rotating, else truncated. nullptr and *error (with the path) on failure.
  static std::unique_ptr<OutFile> open(const std::string& path, std::string* error,
                                       OutFileOptions options = {});
  ~OutFile();
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  // Appends one whole record (buffered). False once the file has failed;
  // the record is then counted lost.
  bool append(const void* data, size_t len) { return append(data, len, nullptr, 0); }
  // One record in two parts (a header and its body).
  bool append(const void* head, size_t head_len, const void* body, size_t body_len);
  // Writes what is buffered. False on failure (error() says why); every
  // later call is false too.
  bool flush();
  // Flushes and closes (a close(2) error counts as a failure).
  bool close();

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  uint64_t records_written() const { return records_written_; }
  uint64_t records_lost() const { return records_lost_; }
  uint64_t records_pending() const { return ends_.size(); }
  uint64_t rotations() const { return rotations_; }
  // Set when a rotation's rename failed: writing goes on in the current
  // file, which is not rotated again. Returns it once, then "".
  std::string take_warning();

 private:
  OutFile() = default;
  bool start_file();
  bool rotate();
  bool write_out(const uint8_t* p, size_t len, size_t* done, int* err,
                 const std::vector<size_t>* ends = nullptr);
  bool wait_writable(int* err);
  bool fail(const std::string& what);

  std::string path_;
  OutFileOptions options_;
  int fd_ = -1;
  bool is_stdout_ = false;
  bool regular_ = false;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t buffered_ = 0;
  std::vector<size_t> ends_;  // end of each buffered record, in buffer_
  uint64_t on_disk_ = 0;      // bytes of the current file written
  uint64_t records_written_ = 0;
  uint64_t records_lost_ = 0;
  uint64_t rotations_ = 0;
  std::string warning_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace rstguard
