//! Runs the configured [`Scenario`] inside the server: each step's dispatch or fault at its
//! time, on its target shard ([`ScenarioStep::target_shard`] with the emulator's `shards`).
//!
//! Each shard has its own clock, started when the first session on that shard is
//! established (after its READY is queued), so `at_ms` counts from the moment a client can
//! see the step; shards identify at different times because of `max_concurrency`. Steps for a
//! shard `>= shards` are skipped with a warning. A step due while the shard has no live
//! connection behaves like the control route: a dispatch reaches nobody, a fault waits for the
//! next new connection.

use std::sync::Arc;

use tokio::{
    sync::watch,
    time::{Instant, sleep_until},
};

use crate::{
    inject,
    scenario::{Scenario, ScenarioCursor, ScenarioStep, StepAction},
    state::{Control, Shared},
};

/// Spawns one task per shard that has steps; they end at the last step or when `stop` fires.
pub(crate) fn spawn(shared: &Arc<Shared>, stop: &watch::Receiver<bool>) {
    let scenario = &shared.config.scenario;
    if scenario.is_empty() {
        return;
    }
    let total = shared.config.shards.max(1);
    for step in scenario.out_of_range(total) {
        tracing::warn!(
            at_ms = step.at.as_millis(),
            shard = step.target_shard(total),
            total,
            "scenario step targets a shard the emulator does not run; skipped"
        );
    }
    for shard in 0..total {
        let steps = scenario.for_shard(shard, total);
        if !steps.is_empty() {
            tokio::spawn(run_shard(Arc::clone(shared), shard, steps, stop.clone()));
        }
    }
}

/// Waits for `shard`'s first session, then applies `steps` at their times.
async fn run_shard(
    shared: Arc<Shared>,
    shard: u32,
    steps: Scenario,
    mut stop: watch::Receiver<bool>,
) {
    let mut started = shared.started_shards();
    tokio::select! {
        r = started.wait_for(|set| set.contains(&shard)) => if r.is_err() { return },
        _ = stop.changed() => return,
    }
    let start = Instant::now();
    let mut cursor = ScenarioCursor::new();
    while let Some(at) = cursor.next_at(&steps) {
        tokio::select! {
            () = sleep_until(start + at) => {}
            _ = stop.changed() => return,
        }
        for step in cursor.due(&steps, start.elapsed()) {
            apply(&shared, shard, step);
        }
    }
}

/// Applies one step to `shard`'s live connections.
fn apply(shared: &Shared, shard: u32, step: &ScenarioStep) {
    match &step.action {
        StepAction::Dispatch(d) => {
            let Ok(data) = serde_json::from_slice::<serde_json::Value>(&d.data) else {
                return;
            };
            let bot = shared.world.bot().id();
            let event = inject::outbound(bot, &d.name, &data, d.guild_id, None);
            shared.route(&event, Some(shard));
        }
        StepAction::Fault(f) => {
            shared.to_shard(shard, || Control::Fault(f.clone()));
        }
    }
}
