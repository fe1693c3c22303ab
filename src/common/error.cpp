#include "common/error.h"

#include <c10/util/Exception.h>

namespace cg {

std::string describe(const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) {
    return torch_error->what_without_backtrace();
  }
  // nlohmann::json prefixes its messages with "[json.exception.parse_error.101] ".
  std::string text = e.what();
  const std::string json_tag = "[json.exception.";
  if (text.compare(0, json_tag.size(), json_tag) == 0) {
    const size_t end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  return text;
}

}  // namespace cg
