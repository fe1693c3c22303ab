#pragma once
// Stop requests by signal: a batch system announces preemption or the end of the time
// limit with SIGUSR1 (sbatch --signal=B:USR1@120) or SIGTERM, a user at a terminal presses
// Ctrl-C (SIGINT). The handlers only record the signal (async-signal-safe); the trainer
// polls it at step boundaries, agrees with the other ranks, checkpoints and exits with
// kExitStopped. A second SIGINT ends the process at once (exit 130), as a user who presses
// Ctrl-C twice expects.
namespace cg {

/// Exit code of a run that stopped on request after writing its checkpoint (EX_TEMPFAIL:
/// "try again later"): a batch script requeues on it.
inline constexpr int kExitStopped = 75;

/// Installs the SIGUSR1, SIGTERM and SIGINT handlers (replacing the default of
/// terminating). Call once, early in main.
void install_stop_handlers();

/// The last stop signal received since install_stop_handlers (0: none). Thread-safe.
int stop_signal();

/// Test hooks for fault injection, so that a test interrupts a process at a known point
/// instead of after a guessed sleep. The first time the process gets to `phase`:
/// - CYCLEGAN_TEST_SIGNAL="PHASE:SIGNAL" (SIGNAL one of TERM, USR1, INT, KILL) raises it;
/// - CYCLEGAN_TEST_PAUSE="PHASE:FILE" creates FILE.<pid> and waits until that file is
///   removed or a signal arrives (at most 300 s), so the test acts while the process is
///   there (several processes each make their own file).
/// Phases: "start-up" (after the run directory is claimed), "first-collective",
/// "checkpoint" (while one is written), "evaluation", "shard-written" (cyclegan_data: a
/// shard of a new data set is complete, the old set not yet replaced).
void raise_test_signal(const char* phase);

}  // namespace cg
