//! Runs the fuzz loop in a child process (this test binary again, with `FUZZ_CHILD` set), so
//! that an input that aborts the process (a stack overflow, an abort in a dependency) or hangs
//! is still named: the child writes the index of the input it is on to a file, read back here
//! when the child dies.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Set in the child to the progress file's path.
pub const CHILD_VAR: &str = "FUZZ_CHILD";

/// Whether this process is the supervised child.
pub fn progress_path() -> Option<PathBuf> {
    std::env::var_os(CHILD_VAR).map(PathBuf::from)
}

/// Runs `test` (this binary's test of that name) in a child, relaying its output. Err with
/// what happened when the child failed.
pub fn supervise(test: &str, seed: u64) -> Result<(), String> {
    let progress = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-progress-{}", std::process::id()));
    std::fs::write(&progress, u64::MAX.to_le_bytes()).map_err(|e| e.to_string())?;
    let mut child = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        // The child fuzzes with the seed chosen here (`random` is resolved once).
        .env("FUZZ_SEED", seed.to_string())
        .env(CHILD_VAR, &progress)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the fuzz child: {e}"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let relay_stderr = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
        }
    });
    for line in BufReader::new(child.stdout.take().expect("piped stdout"))
        .lines()
        .map_while(Result::ok)
    {
        println!("{line}");
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = relay_stderr.join();
    let last = std::fs::read(&progress)
        .ok()
        .and_then(|bytes| Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)));
    let _ = std::fs::remove_file(&progress);
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (_, Some(signal)) => format!("was killed by signal {signal} (a stack overflow aborts)"),
        (Some(3), _) => "stopped an input that ran far over the time bound".to_string(),
        (Some(code), _) => format!("failed with exit code {code}"),
        _ => "ended".to_string(),
    };
    let at = match last {
        Some(index) if index != u64::MAX => format!(
            " while running input #{index}: reproduce with FUZZ_SEED={seed} FUZZ_INDEX={index} \
             cargo test -p gateway --test fuzz_plan -- --nocapture"
        ),
        _ => String::new(),
    };
    Err(format!("the fuzz child {how}{at}"))
}
