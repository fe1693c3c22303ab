// How the OpenMP threads of LibTorch (libgomp) wait between parallel regions, chosen for
// this executable before libgomp reads its environment.
//
// libgomp's default spins about 300000 rounds (milliseconds) before a waiting thread
// sleeps. Alone on its cores that wins a little; next to another LibTorch process on the
// same cores the spinning threads take the cores from each other's working ones (two seed
// runs on 2 cores: 2.0x the time of one after the other). OMP_WAIT_POLICY=PASSIVE never
// spins and costs 6-14% alone. A bounded spin of 1500 rounds measured within noise of the
// default alone and 1.03x of one-after-the-other for two runs together
// (bench/colocation_bench.py, README "Co-location"). A user's OMP_WAIT_POLICY or
// GOMP_SPINCOUNT wins; CYCLEGAN_OMP_WAIT=off leaves libgomp's default.
//
// libgomp reads the environment in its constructor, before main(). A variable set from
// this executable does not reach it: the earliest code an executable runs (its
// .preinit_array) runs before libc's own initialisation, which resets the environment to
// the one the process started with. So the process starts itself again, once, with the
// variable added (the same pid, before any library's constructor or MPI has run; the
// libraries are mapped a second time, about 0.1 s). Where that exec fails (no /proc), it
// goes on with libgomp's default.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr const char* kSpinCount = "GOMP_SPINCOUNT=1500";

bool has(char** envp, const char* name) {
  const size_t n = std::strlen(name);
  for (char** e = envp; *e != nullptr; ++e) {
    if (std::strncmp(*e, name, n) == 0 && (*e)[n] == '=') return true;
  }
  return false;
}

void choose_omp_wait(int, char** argv, char** envp) {
  if (envp == nullptr || argv == nullptr) return;
  for (char** e = envp; *e != nullptr; ++e) {
    if (std::strcmp(*e, "CYCLEGAN_OMP_WAIT=off") == 0) return;
  }
  if (has(envp, "OMP_WAIT_POLICY") || has(envp, "GOMP_SPINCOUNT")) return;
  std::vector<char*> env;
  for (char** e = envp; *e != nullptr; ++e) env.push_back(*e);
  env.push_back(const_cast<char*>(kSpinCount));
  env.push_back(nullptr);
  execve("/proc/self/exe", argv, env.data());
}

using PreinitFunction = void (*)(int, char**, char**);
// A constant: the entry holds the address when the loader reads the array.
[[gnu::section(".preinit_array"), gnu::used]] constexpr PreinitFunction kPreinitEntry =
    &choose_omp_wait;

}  // namespace
