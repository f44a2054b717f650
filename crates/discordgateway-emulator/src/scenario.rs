//! Scripted scenarios: dispatches and faults at given times, read from a file.
//!
//! # File format
//!
//! A scenario is either a JSON array of steps, or JSON Lines: one step object per line, where
//! blank lines and lines starting with `//` are skipped. A document whose first non-blank
//! character is `[` is read as an array; anything else as JSON Lines. Each step is
//!
//! ```json
//! {"at_ms": 500, "shard": 0, "dispatch": {"t": "MESSAGE_CREATE", "guild_id": "1", "d": {}}}
//! {"at_ms": 800, "shard": 0, "fault": {"kind": "reconnect"}}
//! ```
//!
//! - `at_ms`: milliseconds after the target shard's start. The emulator starts each shard's
//!   clock when the first session on that shard is established (READY sent), so `at_ms: 0`
//!   reaches the first client to identify on the shard; see [`crate::EmulatorConfig::scenario`].
//! - `dispatch`: `t` is the upper-snake event name, `d` any JSON (sent exactly as written;
//!   scripted dispatches carry no `emulator_tag` unless the file puts one there), and the
//!   optional `guild_id` (string or number) routes it. Without `guild_id`, a `guild_id` at the
//!   top of `d` is used.
//! - `fault`: a [`Fault`] in the shape the control route accepts.
//! - `shard`: which shard the step targets. For a dispatch without it, the shard follows
//!   GATEWAY.md §6: `(guild_id >> 22) % total`, or shard 0 for guild-less events. For a fault
//!   without it, shard 0.
//!
//! Steps are sorted by `at_ms`, keeping file order among equal times (a stable sort).
//! [`ScenarioCursor`] hands out the steps that are due at a time the caller passes in; it
//! reads no clock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::faults::Fault;

/// A parsed scenario: steps sorted by time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scenario {
    /// The steps, sorted by `at` (stable).
    steps: Vec<ScenarioStep>,
}

/// One scripted step.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScenarioStep {
    /// When the step is due, after the emulator's start.
    pub at: Duration,
    /// The shard named in the file, if any (see [`ScenarioStep::target_shard`]).
    pub shard: Option<u32>,
    /// What to do.
    pub action: StepAction,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StepAction {
    /// Send a dispatch.
    Dispatch(ScriptedDispatch),
    /// Inject a fault.
    Fault(Fault),
}

/// A dispatch written in a scenario file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScriptedDispatch {
    /// The event name (`t`), upper snake case.
    pub name: String,
    /// The `d` JSON, exactly as written in the file.
    pub data: Bytes,
    /// The guild it belongs to (from the step, or from `d.guild_id`), if any.
    pub guild_id: Option<u64>,
}

impl ScenarioStep {
    /// The shard this step targets when the emulator runs `total` shards: the explicit
    /// `shard`, else the dispatch's guild shard `(guild_id >> 22) % total`, else shard 0.
    /// The result may be `>= total` when the file names such a shard; the server should
    /// report and skip such steps.
    #[must_use]
    pub fn target_shard(&self, total: u32) -> u32 {
        if let Some(shard) = self.shard {
            return shard;
        }
        match &self.action {
            StepAction::Dispatch(ScriptedDispatch {
                guild_id: Some(id), ..
            }) => ((id >> 22) % u64::from(total.max(1))) as u32,
            _ => 0,
        }
    }
}

/// A scenario that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {}; check the path and permissions", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A document starting with `[` is not a JSON array.
    #[error("scenario is not a valid JSON array of steps; fix the syntax or use one step per line")]
    Document {
        /// The parser's error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A step is not valid JSON or does not have the step shape.
    #[error(
        "scenario step {step} (line {line}) is malformed; expected {{\"at_ms\":N, \"dispatch\":{{\"t\":..,\"d\":..}}}} or {{\"at_ms\":N, \"fault\":{{\"kind\":..}}}}"
    )]
    Step {
        /// 0-based index of the step in file order.
        step: usize,
        /// 1-based line where the step starts.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A step has neither or both of `dispatch` and `fault`.
    #[error("scenario step {step} (line {line}) must have exactly one of `dispatch` or `fault`")]
    Action {
        /// 0-based index of the step in file order.
        step: usize,
        /// 1-based line where the step starts.
        line: usize,
    },
    /// A dispatch's `t` is not an upper-snake event name.
    #[error(
        "scenario step {step} (line {line}) has event name {name:?}; use upper snake case such as MESSAGE_CREATE"
    )]
    EventName {
        /// 0-based index of the step in file order.
        step: usize,
        /// 1-based line where the step starts.
        line: usize,
        /// The name found.
        name: String,
    },
}

/// A step as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep<'a> {
    /// Milliseconds after start.
    at_ms: u64,
    /// Target shard.
    #[serde(default)]
    shard: Option<u32>,
    /// A dispatch to send.
    #[serde(default, borrow)]
    dispatch: Option<RawDispatch<'a>>,
    /// A fault to inject.
    #[serde(default)]
    fault: Option<Fault>,
}

/// A dispatch as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDispatch<'a> {
    /// Event name.
    t: String,
    /// Payload, kept verbatim.
    #[serde(borrow)]
    d: &'a RawValue,
    /// Routing guild.
    #[serde(default)]
    guild_id: Option<Snowflake>,
}

/// Just the `guild_id` at the top of a dispatch's `d`, if it is there.
#[derive(Deserialize)]
struct GuildOf {
    /// `d.guild_id`.
    #[serde(default)]
    guild_id: Option<Snowflake>,
}

/// A snowflake written as a string or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Snowflake {
    /// `123`
    Number(u64),
    /// `"123"`
    Text(String),
}

impl Snowflake {
    /// The id, if it is a valid u64.
    fn value(&self) -> Option<u64> {
        match self {
            Snowflake::Number(n) => Some(*n),
            Snowflake::Text(s) => s.parse().ok(),
        }
    }
}

impl Scenario {
    /// Parses a scenario (a JSON array of steps, or JSON Lines) and sorts it by time.
    ///
    /// # Errors
    ///
    /// [`ScenarioError`] with the 0-based step index and 1-based line of the first bad step.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        let raw: Vec<(usize, &str)> = if text.trim_start().starts_with('[') {
            let items: Vec<&RawValue> =
                serde_json::from_str(text).map_err(|source| ScenarioError::Document { source })?;
            items
                .into_iter()
                .map(|item| (line_of(text, item.get()), item.get()))
                .collect()
        } else {
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
                .map(|(i, l)| (i + 1, l))
                .collect()
        };
        let mut steps = raw
            .into_iter()
            .enumerate()
            .map(|(step, (line, json))| parse_step(step, line, json))
            .collect::<Result<Vec<_>, _>>()?;
        steps.sort_by_key(|s| s.at);
        Ok(Self { steps })
    }

    /// Reads and parses a scenario file (see [`Scenario::from_json`]).
    ///
    /// # Errors
    ///
    /// [`ScenarioError::Io`] when the file cannot be read, else as [`Scenario::from_json`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// The steps, sorted by time.
    #[must_use]
    pub fn steps(&self) -> &[ScenarioStep] {
        &self.steps
    }

    /// Whether the scenario has no steps.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps that target `shard` when the emulator runs `total` shards (see
    /// [`ScenarioStep::target_shard`]), as a scenario of their own, still sorted by time.
    #[must_use]
    pub fn for_shard(&self, shard: u32, total: u32) -> Scenario {
        Scenario {
            steps: self
                .steps
                .iter()
                .filter(|s| s.target_shard(total) == shard)
                .cloned()
                .collect(),
        }
    }

    /// The steps that name a shard `>= total`; an emulator running `total` shards skips them.
    pub fn out_of_range(&self, total: u32) -> impl Iterator<Item = &ScenarioStep> + '_ {
        self.steps
            .iter()
            .filter(move |s| s.target_shard(total) >= total)
    }
}

/// The 1-based line in `text` where `part` (a slice of `text`) starts.
fn line_of(text: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    before.bytes().filter(|&b| b == b'\n').count() + 1
}

/// Parses and checks one step.
fn parse_step(step: usize, line: usize, json: &str) -> Result<ScenarioStep, ScenarioError> {
    let raw: RawStep<'_> =
        serde_json::from_str(json).map_err(|source| ScenarioError::Step { step, line, source })?;
    let action = match (raw.dispatch, raw.fault) {
        (Some(d), None) => {
            let valid = !d.t.is_empty()
                && d.t
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(ScenarioError::EventName {
                    step,
                    line,
                    name: d.t,
                });
            }
            let guild_id = match d.guild_id {
                Some(id) => id.value(),
                None => serde_json::from_str::<GuildOf>(d.d.get())
                    .ok()
                    .and_then(|g| g.guild_id)
                    .and_then(|id| id.value()),
            };
            StepAction::Dispatch(ScriptedDispatch {
                name: d.t,
                data: Bytes::copy_from_slice(d.d.get().as_bytes()),
                guild_id,
            })
        }
        (None, Some(fault)) => StepAction::Fault(fault),
        _ => return Err(ScenarioError::Action { step, line }),
    };
    Ok(ScenarioStep {
        at: Duration::from_millis(raw.at_ms),
        shard: raw.shard,
        action,
    })
}

/// Walks a scenario in time order; the caller passes the elapsed time (no clock reads here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioCursor {
    /// Index of the first step not yet handed out.
    next: usize,
}

impl ScenarioCursor {
    /// A cursor at the scenario's start.
    #[must_use]
    pub const fn new() -> Self {
        Self { next: 0 }
    }

    /// The steps due at `elapsed` that were not handed out before, in order.
    pub fn due<'s>(&mut self, scenario: &'s Scenario, elapsed: Duration) -> &'s [ScenarioStep] {
        let rest = scenario.steps.get(self.next..).unwrap_or(&[]);
        let count = rest.partition_point(|s| s.at <= elapsed);
        self.next += count;
        &rest[..count]
    }

    /// When the next step is due, or `None` when every step was handed out.
    #[must_use]
    pub fn next_at(&self, scenario: &Scenario) -> Option<Duration> {
        scenario.steps.get(self.next).map(|s| s.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses() {
        let scenario = Scenario::from_json(include_str!("../scenarios/example.json")).unwrap();
        assert!(scenario.steps().len() >= 5);
        assert!(scenario.steps().windows(2).all(|w| w[0].at <= w[1].at));
        assert!(
            scenario
                .steps()
                .iter()
                .any(|s| matches!(s.action, StepAction::Fault(Fault::Reconnect)))
        );
        let lines = Scenario::from_json(include_str!("../scenarios/example.jsonl")).unwrap();
        assert!(!lines.is_empty());
    }

    #[test]
    fn arrays_and_lines_give_the_same_steps() {
        let array = r#"[
            {"at_ms": 800, "shard": 1, "fault": {"kind": "reconnect"}},
            {"at_ms": 500, "dispatch": {"t": "TYPING_START", "d": {"guild_id": "4194304"}}}
        ]"#;
        let lines = "// comment\n{\"at_ms\": 800, \"shard\": 1, \"fault\": {\"kind\": \"reconnect\"}}\n\n\
                     {\"at_ms\": 500, \"dispatch\": {\"t\": \"TYPING_START\", \"d\": {\"guild_id\": \"4194304\"}}}\n";
        let (a, b) = (
            Scenario::from_json(array).unwrap(),
            Scenario::from_json(lines).unwrap(),
        );
        assert_eq!(a, b);
        let first = &a.steps()[0];
        assert_eq!(first.at, Duration::from_millis(500), "sorted by time");
        let StepAction::Dispatch(d) = &first.action else {
            panic!("dispatch first")
        };
        assert_eq!(d.name, "TYPING_START");
        assert_eq!(d.guild_id, Some(4_194_304), "guild taken from d");
        assert_eq!(
            &d.data[..],
            br#"{"guild_id": "4194304"}"#,
            "d kept verbatim"
        );
    }

    #[test]
    fn equal_times_keep_file_order() {
        let text = r#"[{"at_ms":5,"fault":{"kind":"drop"}},{"at_ms":1,"fault":{"kind":"garbage"}},{"at_ms":5,"fault":{"kind":"repeat_seq"}}]"#;
        let scenario = Scenario::from_json(text).unwrap();
        let faults: Vec<&StepAction> = scenario.steps().iter().map(|s| &s.action).collect();
        let want = [Fault::Garbage, Fault::Drop, Fault::RepeatSeq].map(StepAction::Fault);
        assert_eq!(faults, want.iter().collect::<Vec<_>>());
    }

    #[test]
    fn target_shards_follow_routing() {
        // (name, step, total, want)
        const CASES: &[(&str, &str, u32, u32)] = &[
            (
                "explicit",
                r#"{"at_ms":0,"shard":3,"dispatch":{"t":"X","d":{},"guild_id":"4194304"}}"#,
                4,
                3,
            ),
            (
                "guild string",
                r#"{"at_ms":0,"dispatch":{"t":"X","d":{},"guild_id":"12582912"}}"#,
                2,
                1,
            ),
            (
                "guild number",
                r#"{"at_ms":0,"dispatch":{"t":"X","d":{},"guild_id":12582912}}"#,
                4,
                3,
            ),
            (
                "guild-less",
                r#"{"at_ms":0,"dispatch":{"t":"X","d":{"user_id":"1"}}}"#,
                4,
                0,
            ),
            (
                "fault default",
                r#"{"at_ms":0,"fault":{"kind":"drop"}}"#,
                4,
                0,
            ),
        ];
        for (name, step, total, want) in CASES {
            let scenario = Scenario::from_json(step).unwrap();
            assert_eq!(
                scenario.steps()[0].target_shard(*total),
                *want,
                "case {name}"
            );
        }
    }

    #[test]
    fn errors_name_the_step_and_line() {
        type Check = fn(&ScenarioError) -> bool;
        const CASES: &[(&str, &str, Check)] = &[
            ("bad array", "[{", |e| {
                matches!(e, ScenarioError::Document { .. })
            }),
            (
                "bad line",
                "{\"at_ms\":1,\"fault\":{\"kind\":\"drop\"}}\n\n{oops",
                |e| {
                    matches!(
                        e,
                        ScenarioError::Step {
                            step: 1,
                            line: 3,
                            ..
                        }
                    )
                },
            ),
            ("missing at_ms", r#"[{"fault":{"kind":"drop"}}]"#, |e| {
                matches!(
                    e,
                    ScenarioError::Step {
                        step: 0,
                        line: 1,
                        ..
                    }
                )
            }),
            (
                "unknown fault",
                "[\n{\"at_ms\":1,\"fault\":{\"kind\":\"drop\"}},\n{\"at_ms\":1,\"fault\":{\"kind\":\"nope\"}}]",
                |e| {
                    matches!(
                        e,
                        ScenarioError::Step {
                            step: 1,
                            line: 3,
                            ..
                        }
                    )
                },
            ),
            ("no action", r#"[{"at_ms":1}]"#, |e| {
                matches!(e, ScenarioError::Action { step: 0, .. })
            }),
            (
                "two actions",
                r#"[{"at_ms":1,"fault":{"kind":"drop"},"dispatch":{"t":"A","d":1}}]"#,
                |e| matches!(e, ScenarioError::Action { step: 0, .. }),
            ),
            (
                "lowercase name",
                r#"[{"at_ms":1,"dispatch":{"t":"message_create","d":{}}}]"#,
                |e| matches!(e, ScenarioError::EventName { step: 0, name, .. } if name == "message_create"),
            ),
            (
                "unknown field",
                r#"[{"at_ms":1,"fault":{"kind":"drop"},"when":3}]"#,
                |e| matches!(e, ScenarioError::Step { step: 0, .. }),
            ),
        ];
        for (name, text, check) in CASES {
            let err = Scenario::from_json(text).expect_err(name);
            assert!(check(&err), "case {name}: got {err:?}");
            assert!(
                err.to_string().starts_with("scenario"),
                "case {name}: {err}"
            );
        }
        let missing = Scenario::load("/nonexistent/scenario.json").expect_err("missing file");
        assert!(matches!(missing, ScenarioError::Io { .. }), "{missing:?}");
    }

    #[test]
    fn the_cursor_hands_out_due_steps_once() {
        let text = r#"[{"at_ms":0,"fault":{"kind":"drop"}},{"at_ms":100,"fault":{"kind":"garbage"}},{"at_ms":100,"fault":{"kind":"reconnect"}},{"at_ms":250,"fault":{"kind":"repeat_seq"}}]"#;
        let scenario = Scenario::from_json(text).unwrap();
        let mut cursor = ScenarioCursor::new();
        // (elapsed ms, steps handed out, next due ms)
        const CASES: &[(u64, usize, Option<u64>)] = &[
            (0, 1, Some(100)),
            (0, 0, Some(100)),
            (99, 0, Some(100)),
            (100, 2, Some(250)),
            (1_000, 1, None),
            (2_000, 0, None),
        ];
        for &(ms, count, next) in CASES {
            let due = cursor.due(&scenario, Duration::from_millis(ms));
            assert_eq!(due.len(), count, "at {ms} ms");
            assert_eq!(
                cursor.next_at(&scenario),
                next.map(Duration::from_millis),
                "at {ms} ms"
            );
        }
    }
}
