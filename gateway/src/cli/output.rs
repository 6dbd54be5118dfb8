//! Writing a command's result to standard output. A reader that goes away early (`gateway
//! plan … | head`) is not an error: the rest is simply not written, and the command exits as it
//! would have (Rust's `print!` would panic on the closed pipe instead).

use std::io::{ErrorKind, Write};

/// Writes `text` to standard output; a closed pipe ends the writing quietly.
pub fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if let Err(error) = written
        && error.kind() != ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {error}");
    }
}
