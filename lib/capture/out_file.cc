#include "capture/out_file.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace rstguard {
namespace {

// After a stop is asked for, a reader that takes nothing for this long is
// given up on (what it has not taken is counted lost).
constexpr auto kStopGrace = std::chrono::seconds(1);
constexpr int kPollMs = 50;

std::string reason(int err) { return std::strerror(err); }

}  // namespace

std::string rotated_name(const std::string& path, uint32_t index) {
  if (index == 0) return path;
  // "dir/x.pcap" -> "dir/x.1.pcap"; "x", ".hidden", "x." -> "x.1",
  // ".hidden.1", "x..1".
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  const size_t base = slash == std::string::npos ? 0 : slash + 1;
  const std::string n = "." + std::to_string(index);
  if (dot == std::string::npos || dot <= base || dot + 1 == path.size()) return path + n;
  return path.substr(0, dot) + n + path.substr(dot);
}

bool shift_rotated(const std::string& path, uint32_t files, std::string* error) {
  if (files == 0) return true;
  for (uint32_t i = files; i > 0; --i) {
    const std::string from = rotated_name(path, i - 1);
    if (::rename(from.c_str(), rotated_name(path, i).c_str()) != 0 && errno != ENOENT) {
      *error = from + ": rename: " + reason(errno);
      return false;
    }
  }
  // The oldest was overwritten by the rename onto it, or never existed.
  return true;
}

bool make_parent_dirs(const std::string& path, std::string* error) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return true;
  const std::string dir = path.substr(0, slash);
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
    const std::string part = dir.substr(0, pos);
    struct stat st;
    if (::stat(part.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        *error = path + ": " + part + " is not a folder";
        return false;
      }
    } else if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = path + ": cannot create folder " + part + ": " + reason(errno);
      return false;
    }
    if (pos == std::string::npos) return true;
  }
}

bool check_output_path(const std::string& path, std::string* error) {
  if (!make_parent_dirs(path, error)) return false;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    *error = path + ": is a folder";
    return false;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) {
    *error = path + ": " + reason(errno);
    return false;
  }
  ::close(fd);
  // Files written atomically go through PATH.tmp in the same folder.
  const std::string tmp = path + ".tmp";
  const bool had_tmp = ::access(tmp.c_str(), F_OK) == 0;
  const int tfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  if (tfd < 0) {
    *error = tmp + ": " + reason(errno);
    return false;
  }
  ::close(tfd);
  if (!had_tmp) ::unlink(tmp.c_str());
  return true;
}

std::unique_ptr<OutFile> OutFile::open(const std::string& path, std::string* error,
                                       OutFileOptions options) {
  std::unique_ptr<OutFile> f(new OutFile());
  f->path_ = path;
  f->options_ = std::move(options);
  f->buffer_.reset(new uint8_t[f->options_.buffer_bytes]);
  if (path == "-") {
    f->is_stdout_ = true;
    f->fd_ = STDOUT_FILENO;
    struct stat st;
    f->regular_ = ::fstat(f->fd_, &st) == 0 && S_ISREG(st.st_mode);
    f->options_.rotation.max_bytes = 0;
    f->path_ = "standard output";
    size_t done = 0;
    int err = 0;
    const std::string& h = f->options_.header;
    if (!h.empty() && !f->write_out(reinterpret_cast<const uint8_t*>(h.data()), h.size(), &done,
                                    &err)) {
      *error = f->path_ + ": write: " + reason(err);
      return nullptr;
    }
    return f;
  }
  if (!make_parent_dirs(path, error)) return nullptr;
  struct stat st;
  if (f->options_.rotation.max_bytes != 0 && ::stat(path.c_str(), &st) == 0 &&
      S_ISREG(st.st_mode) && st.st_size > 0 &&
      !shift_rotated(path, f->options_.rotation.files, error)) {
    return nullptr;
  }
  if (!f->start_file()) {
    *error = f->error_;
    return nullptr;
  }
  return f;
}

OutFile::~OutFile() { close(); }

bool OutFile::fail(const std::string& what) {
  failed_ = true;
  error_ = path_ + ": " + what;
  return false;
}

bool OutFile::start_file() {
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    // A FIFO: opening it for writing blocks until a reader comes, and that
    // wait must answer a stop. Non-blocking opens fail (ENXIO) until then.
    bool said = false;
    for (;;) {
      fd_ = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd_ >= 0 || errno != ENXIO) break;
      if (options_.stop && options_.stop()) {
        return fail("gave up waiting for a reader of the FIFO (stopping)");
      }
      if (!said && options_.waiting) options_.waiting();
      said = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    }
    if (fd_ >= 0) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  } else {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd_ < 0) return fail(reason(errno));
  // A FIFO, a device or /dev/stdout is written on, never renamed.
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (!regular_) options_.rotation.max_bytes = 0;
  on_disk_ = 0;
  const std::string& h = options_.header;
  size_t done = 0;
  int err = 0;
  if (!h.empty() && !write_out(reinterpret_cast<const uint8_t*>(h.data()), h.size(), &done, &err)) {
    if (regular_) (void)::ftruncate(fd_, 0);
    return fail("write: " + reason(err));
  }
  on_disk_ = h.size();
  return true;
}

bool OutFile::rotate() {
  if (!flush()) return false;
  // The open file is renamed under the descriptor: if a rename fails, the
  // output goes on where it is, unrotated, rather than losing records.
  std::string error;
  if (!shift_rotated(path_, options_.rotation.files, &error)) {
    options_.rotation.max_bytes = 0;
    warning_ = error + ": not rotating " + path_ + " any more";
    return true;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return fail("close: " + reason(errno));
  ++rotations_;
  return start_file();
}

std::string OutFile::take_warning() { return std::exchange(warning_, std::string()); }

// Waits until a pipe or FIFO takes more. False (and *err) when a stop was
// asked for and the reader took nothing for kStopGrace.
bool OutFile::wait_writable(int* err) {
  const auto since = std::chrono::steady_clock::now();
  for (;;) {
    struct pollfd p = {fd_, POLLOUT, 0};
    const int r = ::poll(&p, 1, kPollMs);
    if (r > 0) return true;  // writable, or an error write(2) will name
    if (r < 0 && errno != EINTR) {
      *err = errno;
      return false;
    }
    if (options_.stop && options_.stop() &&
        std::chrono::steady_clock::now() - since >= kStopGrace) {
      *err = EINTR;
      return false;
    }
  }
}

bool OutFile::write_out(const uint8_t* p, size_t len, size_t* done, int* err,
                        const std::vector<size_t>* ends) {
  while (*done < len) {
    size_t chunk = len - *done;
    if (!regular_) {
      // A pipe: write what poll says fits (PIPE_BUF is taken whole), so
      // that a blocked write never outlasts a stop; and end it on a record
      // boundary where one fits, so that giving up leaves no cut record.
      if (!wait_writable(err)) return false;
      chunk = std::min<size_t>(chunk, PIPE_BUF);
      if (ends != nullptr) {
        const auto it = std::upper_bound(ends->begin(), ends->end(), *done + chunk);
        if (it != ends->begin() && *(it - 1) > *done) chunk = *(it - 1) - *done;
      }
    }
    const ssize_t n = ::write(fd_, p + *done, chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *err = errno;
      return false;
    }
    *done += static_cast<size_t>(n);
  }
  return true;
}

bool OutFile::append(const void* head, size_t head_len, const void* body, size_t body_len) {
  const size_t len = head_len + body_len;
  if (failed_) {
    ++records_lost_;
    return false;
  }
  const uint64_t file_bytes = on_disk_ + buffered_;
  if (options_.rotation.max_bytes != 0 && file_bytes > options_.header.size() &&
      file_bytes + len > options_.rotation.max_bytes && !rotate()) {
    ++records_lost_;
    return false;
  }
  if (options_.buffer_bytes - buffered_ < len && !flush()) {
    ++records_lost_;
    return false;
  }
  if (len > options_.buffer_bytes) {  // bigger than the buffer: straight out
    size_t done = 0;
    int err = 0;
    bool ok = write_out(static_cast<const uint8_t*>(head), head_len, &done, &err);
    size_t body_done = 0;
    if (ok) ok = write_out(static_cast<const uint8_t*>(body), body_len, &body_done, &err);
    if (!ok) {
      if (regular_ && done + body_done > 0) (void)::ftruncate(fd_, static_cast<off_t>(on_disk_));
      if (regular_) ::lseek(fd_, static_cast<off_t>(on_disk_), SEEK_SET);
      ++records_lost_;
      return fail(err == EINTR ? "gave up waiting for the reader (stopping)"
                               : "write: " + reason(err));
    }
    on_disk_ += len;
    ++records_written_;
    return true;
  }
  if (head_len != 0) std::memcpy(buffer_.get() + buffered_, head, head_len);
  if (body_len != 0) std::memcpy(buffer_.get() + buffered_ + head_len, body, body_len);
  buffered_ += len;
  ends_.push_back(buffered_);
  return true;
}

bool OutFile::flush() {
  if (failed_) return false;
  if (buffered_ == 0) return true;
  size_t done = 0;
  int err = 0;
  const bool ok = write_out(buffer_.get(), buffered_, &done, &err, &ends_);
  // Whole records among what went out.
  const size_t whole = static_cast<size_t>(
      std::upper_bound(ends_.begin(), ends_.end(), done) - ends_.begin());
  const size_t whole_bytes = whole == 0 ? 0 : ends_[whole - 1];
  records_written_ += whole;
  std::string cut;
  if (!ok) {
    records_lost_ += ends_.size() - whole;
    if (done > whole_bytes) {
      // Half a record went out: a regular file loses it again; a pipe's
      // reader has it already and sees the output end there.
      if (!regular_ || ::ftruncate(fd_, static_cast<off_t>(on_disk_ + whole_bytes)) != 0) {
        cut = regular_ ? " (and cannot cut back the partial record: " + reason(errno) + ")"
                       : " (a partial record went out)";
      } else {
        ::lseek(fd_, static_cast<off_t>(on_disk_ + whole_bytes), SEEK_SET);
      }
    }
  }
  on_disk_ += whole_bytes;
  buffered_ = 0;
  ends_.clear();
  if (!ok) {
    return fail((err == EINTR ? std::string("gave up waiting for the reader (stopping)")
                              : "write: " + reason(err)) +
                cut);
  }
  return true;
}

bool OutFile::close() {
  bool ok = flush();
  if (fd_ >= 0 && !is_stdout_) {
    if (::close(fd_) != 0 && ok) ok = fail("close: " + reason(errno));
  }
  fd_ = -1;
  return ok;
}

}  // namespace rstguard
