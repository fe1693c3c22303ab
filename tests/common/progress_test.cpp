// The progress display (common/progress.h) off a terminal, as under CTest and in logs:
// lasting lines only, at each tenth or every `every` counts, and at the end.
#include "common/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

namespace cg {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Progress, OffATerminalOneLineAtEachTenth) {
  if (isatty(STDERR_FILENO)) GTEST_SKIP() << "stderr is a terminal";
  testing::internal::CaptureStderr();
  {
    Progress progress("trainA", 20);
    for (int i = 0; i < 20; ++i) progress.advance();
  }
  const std::vector<std::string> lines = lines_of(testing::internal::GetCapturedStderr());
  // 1 (0%), then 2, 4, ..., 20: each tenth of 20 once.
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_NE(lines.front().find("trainA 1/20"), std::string::npos) << lines.front();
  EXPECT_NE(lines.back().find("trainA 20/20"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find(" img/s  ETA 0:00:00"), std::string::npos) << lines.back();
}

TEST(Progress, EveryGivesThePeriodAndTheDetail) {
  if (isatty(STDERR_FILENO)) GTEST_SKIP() << "stderr is a terminal";
  testing::internal::CaptureStderr();
  {
    Progress progress("step", 12, /*first=*/2, /*every=*/5);
    for (int step = 3; step <= 12; ++step) progress.update(step, 4, "loss 0.5");
  }
  const std::vector<std::string> lines = lines_of(testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 3u);  // steps 5, 10 and the last, 12
  EXPECT_NE(lines[0].find("step 5/12  loss 0.5  "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("step 10/12"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("step 12/12"), std::string::npos) << lines[2];
}

}  // namespace
}  // namespace cg
