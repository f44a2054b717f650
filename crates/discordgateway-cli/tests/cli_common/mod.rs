//! What the `listen` tests share: running the binary with its output read line by line on
//! background threads, waiting for a line, and sending it Ctrl-C.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_discordgateway");

/// A running `discordgateway` with its stdout and stderr lines.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Its stdout lines.
    pub stdout: mpsc::Receiver<String>,
    /// Its stderr lines.
    pub stderr: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub stderr_seen: Vec<String>,
}

/// Reads `source` line by line into a channel on a thread.
fn lines(source: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Starts `discordgateway listen ARGS` with `DISCORD_TOKEN=token`.
pub fn listen(token: &str, args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .arg("listen")
        .args(args)
        .env("DISCORD_TOKEN", token)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn listen");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    Running {
        child,
        stdout,
        stderr,
        stderr_seen: Vec::new(),
    }
}

impl Running {
    /// Waits up to `within` for a stderr line containing `needle`; returns it.
    pub fn stderr_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no stderr line with {needle:?} within {within:?}; stderr so far:\n{}",
                    self.stderr_seen.join("\n")
                ),
            }
        }
    }

    /// Waits up to `within` for the next stdout line.
    pub fn stdout_line(&mut self, within: Duration) -> String {
        self.stdout
            .recv_timeout(within)
            .unwrap_or_else(|_| panic!("no stdout line within {within:?}"))
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits for the exit; returns the status and the
    /// rest of stderr.
    pub fn interrupt(self) -> (ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT");
        self.finish()
    }

    /// Waits for the exit (at most 30 s, then kills); returns the status and every stderr line.
    pub fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "listen did not exit; stderr:\n{}",
                    self.stderr_seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.stderr_seen.push(line);
        }
        (status, std::mem::take(&mut self.stderr_seen))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an emulator on a free loopback port whose every new session streams 100 000
/// MESSAGE_CREATEs (and nothing else, so every generated dispatch is one the tests declare) at
/// `rate` per second, recommending `shards` shards.
pub async fn message_stream(shards: u32, rate: f64) -> discordgateway_emulator::EmulatorHandle {
    use discordgateway_emulator::workload::{Mix, Rate, WorkloadConfig};
    use discordgateway_emulator::{Emulator, EmulatorConfig};
    let config = EmulatorConfig {
        shards,
        workload: WorkloadConfig {
            events_per_shard: Some(100_000),
            rate: Rate::PerSecond(rate),
            mix: Mix {
                message_create: 1.0,
                ..Mix::none()
            },
            ..EmulatorConfig::default().workload
        },
        ..EmulatorConfig::default()
    };
    Emulator::start("127.0.0.1:0", config)
        .await
        .expect("emulator")
}
