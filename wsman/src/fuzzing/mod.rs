//! The fuzz harness the workspace's `tests/fuzz_*.rs` share: libFuzzer
//! needs nightly, so fuzzing here is proptest with a time budget.
//!
//! A target is one `#[test]` that builds a [`Fuzz`], runs a few phases (each
//! an entry point fed mutated corpus entries, arbitrary bytes or generated
//! values) and calls [`Fuzz::finish`], which prints what ran. Every case is
//! checked for the properties every parser owes its callers:
//!
//! - **no panic**: proptest catches it, shrinks the input and records the
//!   seed in the test's `.proptest-regressions` file; for byte inputs the
//!   minimal input is also written into the corpus as `crash-<hash>`, so
//!   every later run replays it first;
//! - **no hang**: a case slower than `SCVMM_FUZZ_SLOW_SECONDS` (default 5;
//!   timed twice, so one load spike is not a failure) fails and shrinks; a
//!   case still running after `SCVMM_FUZZ_HANG_SECONDS` (default 60) cannot
//!   be shrunk, so a watchdog writes it to the corpus as `hang-<hash>` and
//!   aborts the process;
//! - **no crash**: a stack overflow (or an abort) kills the process before
//!   anything can be saved, so each byte input is written to
//!   `<corpus>/.last-input` before it runs; the next run finds it there and
//!   keeps it as `aborted-<hash>`, which it then replays first;
//! - **bounded memory**: the peak heap growth of a case must stay under a
//!   bound proportional to its input (the test binary installs the counting
//!   allocator with [`fuzz_allocator!`](crate::fuzz_allocator));
//! - whatever the target itself asserts (clear errors, round trips).
//!
//! `SCVMM_FUZZ_SECONDS` is each target's budget (default
//! [`DEFAULT_SECONDS`], so `cargo test --workspace` stays quick);
//! `SCVMM_FUZZ_SEED` fixes the random seed of a run (with `CI=true` it is
//! 0 unless set).

mod mutate;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

pub use mutate::{Dictionary, Mutation, Mutations, Seed, mutations};
pub use peak_alloc::PeakAlloc;

/// Seconds per target when `SCVMM_FUZZ_SECONDS` is unset: seven targets
/// then cost about half a minute of `cargo test --workspace`.
pub const DEFAULT_SECONDS: f64 = 4.0;
/// Peak heap growth every case may use regardless of its input size (the
/// harness's own bookkeeping and fixed-size tables live in it).
pub const BASE_MEMORY: usize = 8 << 20;
/// The file in a corpus directory that holds the input being run.
const LAST_INPUT: &str = ".last-input";

/// Declares the counting allocator the harness measures memory with. Put
/// it once at the top level of a fuzz test file.
#[macro_export]
macro_rules! fuzz_allocator {
    () => {
        #[global_allocator]
        static FUZZ_ALLOCATOR: $crate::fuzzing::PeakAlloc = $crate::fuzzing::PeakAlloc;
    };
}

/// A named set of inputs: the checked-in files of a corpus directory plus
/// whatever the target adds at run time (samples from our own encoders).
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    entries: Vec<(String, Vec<u8>)>,
    /// The first directory read: where failing inputs of phases fed from
    /// this corpus are saved, so the next run replays them.
    dir: Option<PathBuf>,
}

impl Corpus {
    /// The files in `dir` (not recursive, sorted by name; dot files and
    /// `README*` skipped). A missing directory is an empty corpus.
    pub fn from_dir(dir: impl AsRef<Path>) -> Corpus {
        let mut corpus = Corpus::default();
        corpus.add_dir(dir);
        corpus
    }

    /// Adds the files of `dir` (see [`Corpus::from_dir`]).
    pub fn add_dir(&mut self, dir: impl AsRef<Path>) {
        if self.dir.is_none() {
            self.dir = Some(dir.as_ref().to_path_buf());
        }
        let Ok(read) = std::fs::read_dir(dir.as_ref()) else {
            return;
        };
        let mut files: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.') && !n.starts_with("README"))
            })
            .collect();
        files.sort();
        for path in files {
            if let Ok(bytes) = std::fs::read(&path) {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.entries.push((name, bytes));
            }
        }
    }

    /// Adds one entry.
    pub fn push(&mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.entries.push((name.into(), bytes.into()));
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(n, b)| (n.as_str(), b.as_slice()))
    }

    /// The bytes of entry `i` (empty when out of range).
    pub fn bytes(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |(_, b)| b.as_slice())
    }
}

/// What a phase counted.
#[derive(Debug, Default)]
struct PhaseStats {
    name: String,
    executions: u64,
    elapsed: Duration,
    outcomes: BTreeMap<String, u64>,
    peak_extra: usize,
    slowest: Duration,
    corpus: usize,
}

/// What the watchdog needs to report a case that never ends.
#[derive(Debug, Default)]
struct Watch {
    /// Milliseconds since `origin` at which the running case started, plus
    /// one; zero when no case runs.
    case_started: AtomicU64,
    input: Mutex<Option<Vec<u8>>>,
    phase: Mutex<String>,
    done: AtomicBool,
}

/// One fuzz target's run: phases share its time budget.
pub struct Fuzz {
    target: String,
    source_file: &'static str,
    corpus_dir: PathBuf,
    started: Instant,
    budget: Duration,
    phases_left: usize,
    seed: u64,
    slow: Duration,
    watch: Arc<Watch>,
    origin: Instant,
    phases: Vec<PhaseStats>,
    corpus: usize,
}

fn env_seconds(name: &str, default: f64) -> Duration {
    let secs = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(default);
    Duration::from_secs_f64(secs)
}

/// FNV-1a, for file names of saved inputs and per-phase seeds.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A short, printable rendering of an input for failure messages.
pub fn preview(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut out = String::from_utf8_lossy(shown).escape_debug().to_string();
    if bytes.len() > max {
        out.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    out
}

/// The variant name of an error, from its `Debug` form (`Missing { .. }`
/// → `Missing`): the "kind" a target counts.
pub fn kind(error: &dyn Debug) -> String {
    let text = format!("{error:?}");
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    text[..end].to_string()
}

impl Fuzz {
    /// Starts target `target` (its name in reports) of the test file
    /// `source_file` (pass `file!()`: proptest keeps regressions beside it),
    /// saving failing inputs into `corpus_dir`, with `phases` phases to come.
    ///
    /// Panics when the test binary has no [`fuzz_allocator!`](crate::fuzz_allocator):
    /// memory could not be measured.
    pub fn new(
        target: &str,
        source_file: &'static str,
        corpus_dir: impl Into<PathBuf>,
        phases: usize,
    ) -> Fuzz {
        assert!(
            PeakAlloc.current_usage() > 0,
            "fuzz target {target}: the test binary must declare wsman::fuzz_allocator!() so memory can be measured"
        );
        // CI runs the same cases every time (a new finding should come from
        // `just fuzz`, not fail an unrelated submission); elsewhere every
        // run explores new ones.
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let seed = std::env::var("SCVMM_FUZZ_SEED")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or_else(|| {
                if ci {
                    return 0;
                }
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            });
        let corpus_dir = corpus_dir.into();
        let watch = Arc::new(Watch::default());
        let origin = Instant::now();
        spawn_watchdog(
            target.to_string(),
            corpus_dir.clone(),
            watch.clone(),
            origin,
            env_seconds("SCVMM_FUZZ_HANG_SECONDS", 60.0),
        );
        Fuzz {
            target: target.to_string(),
            source_file,
            corpus_dir,
            started: Instant::now(),
            budget: env_seconds("SCVMM_FUZZ_SECONDS", DEFAULT_SECONDS),
            phases_left: phases.max(1),
            seed,
            slow: env_seconds("SCVMM_FUZZ_SLOW_SECONDS", 5.0),
            watch,
            origin,
            phases: Vec::new(),
            corpus: 0,
        }
    }

    /// Records the size of a corpus that `values` phases draw from (the
    /// `bytes` phases count theirs themselves), for the report.
    pub fn note_corpus(&mut self, entries: usize) {
        self.corpus = self.corpus.max(entries);
    }

    /// The share of the remaining budget the next phase gets.
    fn phase_budget(&mut self) -> Duration {
        let remaining = self.budget.saturating_sub(self.started.elapsed());
        let share = remaining / u32::try_from(self.phases_left).unwrap_or(u32::MAX);
        self.phases_left = self.phases_left.saturating_sub(1).max(1);
        share
    }

    /// Feeds `test` the corpus entries as they are, then mutations of them
    /// (and arbitrary bytes, and soups of the dictionary's words) until the
    /// phase's time is up. `test` returns the outcome's kind (`"ok…"` for
    /// success, an error kind otherwise; `a+b` for several). A case may use
    /// `memory_per_byte` × input length + [`BASE_MEMORY`] of heap at peak.
    pub fn bytes(
        &mut self,
        phase: &str,
        corpus: &Corpus,
        dict: &Dictionary,
        memory_per_byte: usize,
        test: impl Fn(&[u8]) -> Result<String, TestCaseError>,
    ) {
        let dir = corpus
            .dir
            .clone()
            .unwrap_or_else(|| self.corpus_dir.clone());
        let last_input = dir.join(LAST_INPUT);
        let mut corpus = corpus.clone();
        if let Ok(bytes) = std::fs::read(&last_input) {
            // The previous run died while this input ran (a stack
            // overflow, an abort, or it was interrupted): keep it, and
            // feed it first.
            // A hang the watchdog saved is already in the corpus.
            let hash = format!("{:016x}", fnv(&bytes));
            let known = corpus.entries().any(|(name, _)| name.ends_with(&hash));
            let saved = if known {
                format!("an entry ending in {hash}")
            } else {
                save_input(&dir, "aborted", &bytes)
            };
            let _ = std::fs::remove_file(&last_input);
            let _ = std::io::stderr().write_all(
                format!(
                    "fuzz target {} phase {phase}: the previous run ended while an input was running (a crash such as a stack overflow, or an interrupted run); kept as {saved}\n",
                    self.target
                )
                .as_bytes(),
            );
            corpus.entries.insert(0, ("aborted".into(), bytes));
        }
        let corpus = &corpus;
        // Opened once: rewriting it in place costs two system calls a case
        // (opening and closing it for each tripled the cost of cheap ones).
        let last_file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&last_input)
            .ok();
        let budget = self.phase_budget();
        let phase_started = Instant::now();
        let stats = RefCell::new(PhaseStats {
            name: phase.to_string(),
            corpus: corpus.len(),
            ..PhaseStats::default()
        });
        let case = |input: &[u8]| {
            let bound = memory_per_byte
                .saturating_mul(input.len())
                .saturating_add(BASE_MEMORY);
            // So a crash that takes the process down leaves its input behind.
            if let Some(file) = &last_file {
                use std::os::unix::fs::FileExt as _;
                let _ = file.write_all_at(input, 0);
                let _ = file.set_len(input.len() as u64);
            }
            self.case(phase, Some(input), bound, &stats, || test(input))
        };
        // The corpus as it is: deterministic, and where earlier failures
        // (crash-*, hang-*) are replayed.
        for (name, bytes) in corpus.entries() {
            if let Err(e) = case(bytes) {
                let _ = std::fs::remove_file(&last_input);
                panic!(
                    "fuzz target {} phase {phase}: corpus entry {name} fails: {e}\ninput: {}",
                    self.target,
                    preview(bytes, 2000)
                );
            }
        }
        let strategy = mutations(corpus.len(), dict);
        let result = self.rounds(phase, budget, phase_started, &stats, &strategy, |m| {
            let input = m.apply(corpus, dict);
            case(&input)
        });
        if let Err((reason, minimal)) = result {
            let _ = std::fs::remove_file(&last_input);
            let input = minimal.apply(corpus, dict);
            let saved = save_input(&dir, "crash", &input);
            panic!(
                "fuzz target {} phase {phase} failed: {reason}\nminimal input ({} bytes, saved as {}): {}\nmutations: {minimal:?}",
                self.target,
                input.len(),
                saved,
                preview(&input, 2000),
            );
        }
        let _ = std::fs::remove_file(&last_input);
        let mut stats = stats.into_inner();
        stats.elapsed = phase_started.elapsed();
        self.phases.push(stats);
    }

    /// Feeds `test` values of `strategy` until the phase's time is up (for
    /// round trips of generated values and for inputs built from them). A
    /// case may use `memory` bytes of heap at peak.
    pub fn values<S: Strategy>(
        &mut self,
        phase: &str,
        strategy: S,
        memory: usize,
        test: impl Fn(S::Value) -> Result<String, TestCaseError>,
    ) where
        S::Value: Clone,
    {
        let budget = self.phase_budget();
        let phase_started = Instant::now();
        let stats = RefCell::new(PhaseStats {
            name: phase.to_string(),
            ..PhaseStats::default()
        });
        let result = self.rounds(phase, budget, phase_started, &stats, &strategy, |v| {
            self.case(phase, None, memory, &stats, || test(v.clone()))
        });
        if let Err((reason, minimal)) = result {
            panic!(
                "fuzz target {} phase {phase} failed: {reason}\nminimal value: {minimal:#?}\n(the seed is in the .proptest-regressions file beside the test; the next run replays it first)",
                self.target
            );
        }
        let mut stats = stats.into_inner();
        stats.elapsed = phase_started.elapsed();
        self.phases.push(stats);
    }

    /// Runs proptest in rounds until `budget` is spent (at least one round),
    /// each round with its own seed derived from the run's.
    fn rounds<S: Strategy>(
        &self,
        phase: &str,
        budget: Duration,
        phase_started: Instant,
        stats: &RefCell<PhaseStats>,
        strategy: &S,
        run: impl Fn(&S::Value) -> Result<(), TestCaseError>,
    ) -> Result<(), (String, S::Value)> {
        let phase_seed = self.seed ^ fnv(phase.as_bytes());
        let mut round: u64 = 0;
        loop {
            let elapsed = phase_started.elapsed();
            if round > 0 && elapsed >= budget {
                return Ok(());
            }
            // Size rounds to the time left (half of it, from the time cases
            // took so far), so a phase of slow cases does not overrun its
            // budget by a whole round; the first round is small to measure.
            let executions = stats.borrow().executions;
            let cases = if round == 0 || executions == 0 {
                8
            } else {
                let per_case = elapsed / u32::try_from(executions).unwrap_or(u32::MAX);
                let left = budget.saturating_sub(elapsed);
                (left.as_nanos() / 2 / per_case.as_nanos().max(1)).clamp(1, 512)
            };
            let config = Config {
                cases: u32::try_from(cases).unwrap_or(512),
                // `<test file>.proptest-regressions` beside the test, like
                // the proptest! macro's (without its lib.rs search, which
                // warns on every round for integration tests).
                failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
                    "proptest-regressions",
                ))),
                source_file: Some(self.source_file),
                rng_seed: RngSeed::Fixed(
                    phase_seed.wrapping_add(round.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                ),
                max_shrink_time: 120_000,
                max_shrink_iters: 100_000,
                max_global_rejects: 1_000_000,
                ..Config::default()
            };
            let mut runner = TestRunner::new(config);
            match runner.run(strategy, |v| run(&v)) {
                Ok(()) => {}
                Err(TestError::Fail(reason, value)) => return Err((reason.to_string(), value)),
                Err(TestError::Abort(reason)) => {
                    panic!(
                        "fuzz target {} phase {phase}: proptest aborted: {reason}",
                        self.target
                    )
                }
            }
            round += 1;
        }
    }

    /// One case: the watchdog is armed, time and peak heap are measured
    /// (twice when over a limit, so noise from other threads is not a
    /// finding), and the outcome is counted.
    fn case(
        &self,
        phase: &str,
        input: Option<&[u8]>,
        memory_bound: usize,
        stats: &RefCell<PhaseStats>,
        test: impl Fn() -> Result<String, TestCaseError>,
    ) -> Result<(), TestCaseError> {
        if let Ok(mut slot) = self.watch.input.lock() {
            *slot = input.map(<[u8]>::to_vec);
        }
        if let Ok(mut slot) = self.watch.phase.lock() {
            phase.clone_into(&mut slot);
        }
        let measure = || {
            let started_ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
            // Disarmed on drop, so a panicking case does not leave the
            // watchdog counting.
            let _armed = Armed::new(&self.watch.case_started, started_ms);
            let base = PeakAlloc.current_usage();
            PeakAlloc.reset_peak_usage();
            let started = Instant::now();
            let outcome = test();
            let took = started.elapsed();
            let extra = PeakAlloc.peak_usage().saturating_sub(base);
            (outcome, took, extra)
        };
        let (mut outcome, mut took, mut extra) = measure();
        if outcome.is_ok() && (took > self.slow || extra > memory_bound) {
            let (again, took2, extra2) = measure();
            outcome = again;
            took = took.min(took2);
            extra = extra.min(extra2);
        }
        {
            let mut s = stats.borrow_mut();
            s.executions += 1;
            s.peak_extra = s.peak_extra.max(extra);
            s.slowest = s.slowest.max(took);
            if let Ok(kinds) = &outcome {
                // A case that feeds several entry points reports `a+b`.
                for kind in kinds.split('+') {
                    *s.outcomes.entry(kind.to_string()).or_default() += 1;
                }
            }
        }
        outcome?;
        if took > self.slow {
            return Err(TestCaseError::fail(format!(
                "one case took {took:?} (limit {:?}, SCVMM_FUZZ_SLOW_SECONDS)",
                self.slow
            )));
        }
        if extra > memory_bound {
            return Err(TestCaseError::fail(format!(
                "one case grew the heap by {extra} bytes at peak, over its bound of {memory_bound} bytes"
            )));
        }
        Ok(())
    }

    /// Prints the run's numbers (straight to stderr, past the test
    /// harness's capture): per phase and for the target.
    pub fn finish(self) {
        self.watch.done.store(true, Ordering::SeqCst);
        let total: u64 = self.phases.iter().map(|p| p.executions).sum();
        let elapsed = self.started.elapsed();
        let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
        let mut out = String::new();
        for p in &self.phases {
            for (k, n) in &p.outcomes {
                *outcomes.entry(k.as_str()).or_default() += n;
            }
            let errors = p.outcomes.keys().filter(|k| !k.starts_with("ok")).count();
            out.push_str(&format!(
                "  {:<24} {:>9} runs {:>7.1}/s  corpus {:>3}  error kinds {:>3}  peak heap +{:.1} MiB  slowest {:.1} ms\n",
                p.name,
                p.executions,
                p.executions as f64 / p.elapsed.as_secs_f64().max(1e-9),
                p.corpus,
                errors,
                p.peak_extra as f64 / f64::from(1 << 20),
                p.slowest.as_secs_f64() * 1e3,
            ));
        }
        let corpus: usize = self
            .phases
            .iter()
            .map(|p| p.corpus)
            .max()
            .unwrap_or(0)
            .max(self.corpus);
        let errors: Vec<&str> = outcomes
            .keys()
            .copied()
            .filter(|k| !k.starts_with("ok"))
            .collect();
        let header = format!(
            "fuzz {}: {total} executions in {:.1} s ({:.0}/s), corpus {corpus}, {} distinct error kinds, seed {} (SCVMM_FUZZ_SEED)\n  error kinds: {}\n",
            self.target,
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64().max(1e-9),
            errors.len(),
            self.seed,
            errors.join(", "),
        );
        let _ = std::io::stderr().write_all(format!("{header}{out}").as_bytes());
    }
}

impl Drop for Fuzz {
    fn drop(&mut self) {
        self.watch.done.store(true, Ordering::SeqCst);
    }
}

/// Marks a case as running for the watchdog while alive.
struct Armed<'a>(&'a AtomicU64);

impl<'a> Armed<'a> {
    fn new(slot: &'a AtomicU64, started_ms: u64) -> Self {
        slot.store(started_ms.saturating_add(1), Ordering::SeqCst);
        Armed(slot)
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

fn save_input(dir: &Path, prefix: &str, input: &[u8]) -> String {
    let path = dir.join(format!("{prefix}-{:016x}", fnv(input)));
    match std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not saved: {}: {e})", path.display()),
    }
}

/// A thread that aborts the process when one case runs for longer than
/// `limit`, after saving its input: a hang cannot be shrunk or unwound.
fn spawn_watchdog(
    target: String,
    dir: PathBuf,
    watch: Arc<Watch>,
    origin: Instant,
    limit: Duration,
) {
    let spawned = std::thread::Builder::new()
        .name(format!("fuzz-watchdog-{target}"))
        .spawn(move || {
            while !watch.done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                let started = watch.case_started.load(Ordering::SeqCst);
                if started == 0 {
                    continue;
                }
                let now = u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX);
                if Duration::from_millis(now.saturating_sub(started - 1)) < limit {
                    continue;
                }
                let phase = watch.phase.lock().map(|p| p.clone()).unwrap_or_default();
                let input = watch.input.lock().ok().and_then(|i| i.clone());
                let saved = match &input {
                    Some(bytes) => save_input(&dir, "hang", bytes),
                    None => "(a generated value: replay the seed from the proptest-regressions file is not possible for a hang; rerun with the printed SCVMM_FUZZ_SEED)".into(),
                };
                let _ = std::io::stderr().write_all(
                    format!(
                        "fuzz target {target} phase {phase}: one case has run for over {limit:?} (SCVMM_FUZZ_HANG_SECONDS); input saved as {saved}: {}\naborting\n",
                        input.as_deref().map(|b| preview(b, 2000)).unwrap_or_default()
                    )
                    .as_bytes(),
                );
                std::process::abort();
            }
        });
    if let Err(e) = spawned {
        let _ = std::io::stderr().write_all(format!("fuzz: no watchdog thread: {e}\n").as_bytes());
    }
}
