#include "common/error_text.h"

#include "common/error.h"

namespace cg {

std::string brief(const std::exception& e) {
  std::string text = describe(e);
  if (const size_t end = text.find('\n'); end != std::string::npos) text.erase(end);
  if (const size_t end = text.find(". "); end != std::string::npos) text.erase(end);
  while (!text.empty() && (text.back() == ' ' || text.back() == ':' || text.back() == '.')) {
    text.pop_back();
  }
  return text;
}

}  // namespace cg
