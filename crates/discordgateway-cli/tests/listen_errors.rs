//! `listen`'s errors through the CLI against the emulator: a rejected token (HTTP 401 from
//! `/gateway/bot`, and close 4004 on the gateway), a privileged intent the app may not use
//! (close 4014: the message names the intent and its Developer Portal switch), and an exhausted
//! session-start budget (it says it waits for the reset, and no Identify is sent).

mod cli_common;

use std::time::Duration;

use cli_common::listen;
use discordgateway_emulator::{Emulator, EmulatorConfig, EmulatorHandle};

/// Starts an emulator from `config`.
async fn emulator(config: EmulatorConfig) -> EmulatorHandle {
    Emulator::start("127.0.0.1:0", config)
        .await
        .expect("emulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_closes_stop_listen_with_what_to_do() {
    // name, emulator config, extra args, needles that stderr must contain
    let cases: [(&str, EmulatorConfig, &[&str], &[&str]); 3] = [
        (
            "token rejected by /gateway/bot",
            EmulatorConfig {
                tokens: Some(vec!["MTAx.good.token".into()]),
                ..EmulatorConfig::default()
            },
            &[],
            &["4004", "DISCORD_TOKEN", "Reset Token"],
        ),
        (
            "token rejected by the gateway (4004)",
            EmulatorConfig {
                tokens: Some(vec!["MTAx.good.token".into()]),
                ..EmulatorConfig::default()
            },
            // An API base that answers nothing: listen goes on and the gateway closes 4004.
            &["--api", "http://127.0.0.1:9/api/v10"],
            &["4004", "could not read", "DISCORD_TOKEN", "Reset Token"],
        ),
        (
            "privileged intent not allowed (4014)",
            EmulatorConfig {
                allowed_privileged_intents: 0,
                ..EmulatorConfig::default()
            },
            &["--events", "GUILD_MEMBER_ADD,MessageCreate"],
            &[
                "4014",
                "GUILD_MEMBERS",
                "Server Members Intent",
                "Developer Portal",
            ],
        ),
    ];
    for (name, config, extra, needles) in cases {
        let emulator = emulator(config).await;
        let url = emulator.url();
        let mut args = vec!["--url", url.as_str(), "--compress", "none"];
        args.extend_from_slice(extra);
        let running = listen("MTAx.bad.token", &args);
        let (status, stderr) = running.finish();
        let stderr = stderr.join("\n");
        assert!(
            !status.success(),
            "case {name}: listen fails; stderr:\n{stderr}"
        );
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "case {name}: stderr lacks {needle:?}:\n{stderr}"
            );
        }
        assert!(
            !stderr.contains("MTAx.bad.token"),
            "case {name}: the token never shows"
        );
        emulator.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_says_it_waits_for_the_reset_and_sends_no_identify() {
    let emulator = emulator(EmulatorConfig {
        session_start_total: 0,
        ..EmulatorConfig::default()
    })
    .await;
    let url = emulator.url();
    let mut running = listen("MTAx.budget.token", &["--url", &url]);
    let line = running.stderr_line("budget is used up", Duration::from_secs(30));
    assert!(line.contains("wait for the reset"), "{line}");
    assert!(line.contains("resets in"), "{line}");
    // The identify queue's own warning reaches stderr through the tracing subscriber.
    let warn = running.stderr_line("waiting for the reset", Duration::from_secs(30));
    assert!(warn.contains("WARN"), "{warn}");
    let (_, stderr) = running.interrupt();
    assert!(
        emulator.identify_log().is_empty(),
        "no Identify spent: {:?}\n{}",
        emulator.identify_log(),
        stderr.join("\n")
    );
}
