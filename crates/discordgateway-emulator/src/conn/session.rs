//! Starting and resuming sessions on a connection (GATEWAY.md §3.4–§3.9): Identify
//! validation with the real close codes, READY and the GUILD_CREATE burst (variants by the
//! session's GUILD_PRESENCES and `large_threshold`, §9.2), Resume with in-order replay, and
//! the request commands ops 8, 31 and 43 (§11.4–§11.6).
//!
//! Decisions where the docs are silent (each tested): `large_threshold` outside 50–250 is
//! clamped into that range (50 when missing); READY's `v` echoes the query's `v`.

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use tokio::time::Instant;

use super::{Conn, Exit, Pace, Step};
use crate::{
    commands::{self, Asker},
    ledger::Invalidation,
    state::{Replayed, SessionRef, lock},
    wire::{Name, Outbound, close, intents, op},
    workload::GuildCreateOptions,
};

/// What a Resume's `seq` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResumeCheck {
    /// `seq` is ahead of the server's: close 4007.
    Ahead,
    /// Dispatches after `seq` were evicted from the replay buffer: op 9 `false`.
    TooOld,
    /// The missed dispatches and RESUMED are encoded.
    Replayed,
}

/// Op 2 and op 6 fields the server reads.
#[derive(Debug, Deserialize)]
struct Identify {
    /// The token.
    token: String,
    /// Intents bitfield.
    intents: u64,
    /// `[shard_id, num_shards]`.
    #[serde(default)]
    shard: Option<[u32; 2]>,
    /// Member count above which a guild is "large" (50–250, default 50).
    #[serde(default)]
    large_threshold: Option<u32>,
}

/// Op 6's `d`.
#[derive(Debug, Deserialize)]
struct Resume {
    /// The token.
    token: String,
    /// The session to resume.
    session_id: String,
    /// The last sequence number the client saw (`null` = none).
    #[serde(default)]
    seq: Option<u64>,
}

impl Conn {
    /// Op 2: validate, admit, then READY and one GUILD_CREATE per guild.
    pub(super) fn on_identify(&mut self, d: &[u8], now: Instant) -> Step {
        let id: Identify = serde_json::from_slice(d)
            .map_err(|_| Exit::Close(close::UNKNOWN_OPCODE, "invalid identify payload"))?;
        let config = &self.shared.config;
        if !config.accepts_token(&id.token) {
            return Err(Exit::Close(
                close::AUTHENTICATION_FAILED,
                "authentication failed: token rejected",
            ));
        }
        if id.intents & !intents::ALL != 0 {
            return Err(Exit::Close(close::INVALID_INTENTS, "invalid intents"));
        }
        if id.intents & intents::PRIVILEGED & !config.allowed_privileged_intents != 0 {
            return Err(Exit::Close(
                close::DISALLOWED_INTENTS,
                "disallowed intents: privileged intent not allowed for this app",
            ));
        }
        let shard = id.shard.unwrap_or([0, 1]);
        if shard[1] == 0 || shard[0] >= shard[1] {
            return Err(Exit::Close(close::INVALID_SHARD, "invalid shard"));
        }
        let world = Arc::clone(&self.shared.world);
        if world.guilds_for_shard(shard[0], shard[1]).count() > 2500 {
            return Err(Exit::Close(
                close::SHARDING_REQUIRED,
                "sharding required: over 2500 guilds on this shard",
            ));
        }
        if self.shared.admit_identify(shard, now) != crate::IdentifyOutcome::Accepted {
            self.encode_op(op::INVALID_SESSION, b"false")?;
            return self.flush();
        }
        let session = self.shared.new_session(shard, id.intents, self.id);
        self.shared.set_conn_shard(self.id, shard);
        let session_id = lock(&session).id.clone();
        let guilds = || world.guilds_for_shard(shard[0], shard[1]);
        let ready = world.ready_data(
            self.version,
            &session_id,
            &self.shared.ws_url(),
            id.shard,
            guilds().map(crate::workload::Guild::id),
        );
        let opts = GuildCreateOptions::new(
            id.intents & intents::GUILD_PRESENCES != 0,
            id.large_threshold.unwrap_or(50).clamp(50, 250),
        );
        self.session = Some(Arc::clone(&session));
        {
            let mut s = lock(&session);
            self.encode_dispatch(&mut s, &Outbound::reply("READY", Bytes::from(ready)))?;
            for guild in guilds() {
                let ev = Outbound {
                    name: Name::Static("GUILD_CREATE"),
                    guild_id: Some(guild.id()),
                    is_dm: false,
                    ungated: false,
                    data: world.guild_create_data(guild, opts),
                    data_without_content: None,
                };
                self.encode_dispatch(&mut s, &ev)?;
            }
        }
        self.shared.mark_started(shard[0]);
        self.pace = Some(Pace {
            start: now,
            sent: 0,
        });
        self.flush()
    }

    /// Op 6: replay after `seq`, then RESUMED; op 9 `false` when impossible.
    pub(super) fn on_resume(&mut self, d: &[u8], now: Instant) -> Step {
        let r: Resume = serde_json::from_slice(d)
            .map_err(|_| Exit::Close(close::UNKNOWN_OPCODE, "invalid resume payload"))?;
        if !self.shared.config.accepts_token(&r.token) {
            return Err(Exit::Close(
                close::AUTHENTICATION_FAILED,
                "authentication failed: token rejected",
            ));
        }
        let Some(session) = self.shared.find_session(&r.session_id, now) else {
            self.encode_op(op::INVALID_SESSION, b"false")?;
            return self.flush();
        };
        let seq = r.seq.unwrap_or(0);
        match self.replay_into_batch(&session, seq)? {
            ResumeCheck::Ahead => {
                self.shared.end_session(
                    &r.session_id,
                    Invalidation::Closed {
                        code: close::INVALID_SEQ,
                    },
                );
                return Err(Exit::Close(
                    close::INVALID_SEQ,
                    "invalid seq: ahead of the server",
                ));
            }
            ResumeCheck::TooOld => {
                self.shared
                    .invalidate(&r.session_id, Invalidation::ResumeTooOld);
                self.encode_op(op::INVALID_SESSION, b"false")?;
                return self.flush();
            }
            ResumeCheck::Replayed => {}
        }
        self.session = Some(session);
        self.shared.count_resume();
        self.pace = Some(Pace {
            start: now,
            sent: 0,
        });
        self.flush()
    }

    /// Checks a Resume's `seq` against `session` and, when it can resume, takes the session
    /// over and encodes the missed dispatches and RESUMED.
    fn replay_into_batch(&mut self, session: &SessionRef, seq: u64) -> Result<ResumeCheck, Exit> {
        let mut s = lock(session);
        if seq > s.seq {
            return Ok(ResumeCheck::Ahead);
        }
        let covered = seq == s.seq || s.replay.front_seq().is_some_and(|f| f <= seq + 1);
        if !covered {
            return Ok(ResumeCheck::TooOld);
        }
        if let Some(other) = s.conn.replace(self.id)
            && other != self.id
        {
            self.shared.supersede(other);
        }
        s.detached_at = None;
        let missed: Vec<Replayed> = s.replay.after(seq);
        for r in &missed {
            self.encode_frame(r.seq, r.name.as_str(), &r.data)?;
            s.frames_sent += 1;
        }
        self.batch_dispatches += missed.len() as u64;
        self.encode_dispatch(
            &mut s,
            &Outbound::reply("RESUMED", Bytes::from_static(b"{}")),
        )?;
        self.shared.set_conn_shard(self.id, s.shard);
        Ok(ResumeCheck::Replayed)
    }

    /// Ops 8, 31, 43.
    pub(super) fn on_request(&mut self, opcode: u64, d: &[u8], now: Instant) -> Step {
        let Some(session) = self.session.clone() else {
            return Ok(());
        };
        let asker = {
            let s = lock(&session);
            Asker {
                shard: s.shard,
                intents: s.intents,
            }
        };
        let shared = &self.shared;
        let replies = match opcode {
            op::REQUEST_GUILD_MEMBERS => commands::request_guild_members(shared, asker, d, now),
            op::REQUEST_SOUNDBOARD_SOUNDS => commands::request_soundboard_sounds(shared, asker, d),
            _ => commands::request_channel_info(shared, asker, d),
        }
        .map_err(|(code, reason)| Exit::Close(code, reason))?;
        {
            let mut s = lock(&session);
            for ev in &replies {
                self.encode_dispatch(&mut s, ev)?;
            }
        }
        self.flush()
    }
}
