//! Resident memory of the test process, sampled while something runs: the gateway under test
//! runs in this process, so its memory shows here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// This process's resident memory, in bytes.
pub fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kilobytes * 1024
}

/// Samples resident memory every millisecond on a thread of its own until stopped: the peak
/// is what matters, and a freed buffer would no longer show in a reading taken afterwards.
pub struct PeakMemory {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakMemory {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = resident_bytes();
            while !stopped.load(Ordering::SeqCst) {
                peak = peak.max(resident_bytes());
                std::thread::sleep(Duration::from_millis(1));
            }
            peak.max(resident_bytes())
        });
        Self { stop, thread }
    }

    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("sampler")
    }
}
