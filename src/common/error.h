#pragma once
// Typed errors for problems a user can fix (bad flag, bad file, bad checkpoint). Their
// message is meant to be printed as is: it names the thing and what is wrong.
#include <sstream>
#include <stdexcept>
#include <string>

namespace cg {

/// Base of every error cyclegan_dist reports to the user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A flag, a config file or a combination of settings is invalid.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A file (checkpoint, data, image) is missing, unreadable or malformed.
class FileError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

/// Message of any exception without LibTorch's backtrace or nlohmann::json's "[json.exception...]"
/// tag.
std::string describe(const std::exception& e);

}  // namespace cg

/// Throws `ErrorType` with the streamed message when `cond` is false.
#define CG_REQUIRE(cond, ErrorType, ...)                              \
  do {                                                                \
    if (!(cond)) throw ErrorType(::cg::detail::str_cat(__VA_ARGS__)); \
  } while (0)
